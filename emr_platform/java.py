"""Spark needs a Java runtime: find it early and say what to do when it is missing."""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess

MIN_JAVA = 17


@functools.cache
def require_java() -> str:
    """The path of a ``java`` >= 17 (``$JAVA_HOME/bin/java`` or on PATH).

    Raises ``RuntimeError`` with install instructions when none is found or it is too old.
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
    if major < MIN_JAVA:
        raise RuntimeError(f"Spark needs Java {MIN_JAVA}+, found {java} ({banner.splitlines()[0] if banner else '?'}): {hint}")
    return java
