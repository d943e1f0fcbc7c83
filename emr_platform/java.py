"""Spark needs a Java runtime: find it early and say what to do when it is missing."""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess

from emr_platform.releases import installed_spark

MIN_JAVA = 17

# The newest Java each Spark minor runs on, as its documentation's overview says: "Spark runs on Java
# 17/21, Scala 2.13, Python 3.9+" (https://spark.apache.org/docs/4.0.0/). A newer one is refused up
# front: Spark 4.0.2 (Hadoop 3.4.1, which calls Subject.getSubject) dies at start on Java 25 with
# `UnsupportedOperationException: getSubject is not supported`. A minor not listed is held to
# MIN_JAVA alone.
NEWEST_JAVA = {"4.0": 21}


def newest_java(spark_minor: str) -> int | None:
    """The newest Java major Spark ``spark_minor`` (``"4.0"``) runs on, ``None`` when
    :data:`NEWEST_JAVA` does not know."""
    return NEWEST_JAVA.get(spark_minor)


@functools.cache
def require_java() -> str:
    """The path of a ``java`` (``$JAVA_HOME/bin/java`` or on PATH) the installed pyspark's Spark
    runs on: at least 17 and no newer than :func:`newest_java` of its major.minor (read from the
    package metadata; pyspark is not imported).

    Raises ``RuntimeError`` saying what to do when none is found, or it is too old or too new.
    """
    home = os.environ.get("JAVA_HOME")
    java = os.path.join(home, "bin", "java") if home and os.path.exists(os.path.join(home, "bin", "java")) else None
    java = java or shutil.which("java")
    hint = "install OpenJDK 17 (e.g. `apt-get install openjdk-17-jre-headless`) or set JAVA_HOME"
    if not java:
        raise RuntimeError(f"Spark needs Java {MIN_JAVA}+, but `java` is not on PATH and JAVA_HOME is unset: {hint}")
    banner = subprocess.run([java, "-version"], capture_output=True, text=True, check=False).stderr
    match = re.search(r'version "(\d+)(?:\.(\d+))?', banner)
    major = int(match.group(1)) if match else 0
    major = int(match.group(2)) if major == 1 and match and match.group(2) else major  # "1.8" is Java 8
    line = banner.splitlines()[0] if banner else "?"
    if major < MIN_JAVA:
        raise RuntimeError(f"Spark needs Java {MIN_JAVA}+, found {java} ({line}): {hint}")
    spark, minor = installed_spark()
    newest = newest_java(minor)
    if newest is not None and major > newest:
        raise RuntimeError(
            f"Spark {minor} (the installed pyspark {spark}) runs on Java {MIN_JAVA} to {newest}, but {java} is "
            f"Java {major} ({line}): set JAVA_HOME to a Java {MIN_JAVA} or {newest} home"
        )
    return java
