"""The JVM jars local Spark runs with beside pyspark's own: S3A (``hadoop-aws`` with the AWS SDK
it was built against), pinned in ``jvm/pom.xml`` and checked against ``jvm/jars.sha256``.

``make install`` resolves them from Maven Central into ``.jars/`` (git-ignored), verifies every
checksum, and touches ``.jars/.verified``. At run time only what is cheap is checked (each jar is
there, is a whole zip, and is no newer than that verification); a missing or changed jar raises
:class:`JarCacheError`, which says to run ``make install``. Nothing is ever resolved at job time
(``spark.jars.packages``). EMR brings its own S3 client, so none of these is shipped to EMR.
"""

from __future__ import annotations

import functools
import zipfile
from pathlib import Path

from emr_platform.config import REPO_ROOT

LOCK = REPO_ROOT / "jvm" / "jars.sha256"  # "<sha256>  <file name>" per line, as sha256sum reads it
CACHE = REPO_ROOT / ".jars"
VERIFIED = CACHE / ".verified"  # touched by `make install` once every checksum matched

# s3:// served by Hadoop's S3A in local Spark, as EMRFS serves it on EMR (s3a:// is S3A's own).
S3_SCHEME = {
    "spark.hadoop.fs.s3.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",
    "spark.hadoop.fs.AbstractFileSystem.s3.impl": "org.apache.hadoop.fs.s3a.S3A",
}


class JarCacheError(RuntimeError):
    """The jar cache lacks a pinned jar, or holds one that changed since ``make install`` verified it."""


def pinned() -> list[str]:
    """File names of the pinned jars, in ``jvm/jars.sha256``'s order."""
    return [line.split()[1] for line in LOCK.read_text().splitlines() if line.strip()]


def spark_jars(cache: Path = CACHE) -> list[Path]:
    """Paths of the pinned jars in ``cache``, checked (see the module's docstring).

    Raises :class:`JarCacheError` naming the first missing, truncated or changed jar.
    """
    return list(_checked(cache, _signature(cache)))


def _signature(cache: Path) -> tuple:
    """What the check depends on, so that a changed cache is checked again."""
    stamp = (cache / VERIFIED.name).stat().st_mtime_ns if (cache / VERIFIED.name).exists() else None
    files = []
    for name in pinned():
        try:
            stat = (cache / name).stat()
            files.append((name, stat.st_size, stat.st_mtime_ns))
        except FileNotFoundError:
            files.append((name, None, None))
    return stamp, tuple(files)


@functools.cache
def _checked(cache: Path, signature: tuple) -> tuple[Path, ...]:
    stamp, files = signature
    fix = "run `make install`, which resolves and verifies it again (jvm/pom.xml, jvm/jars.sha256)"
    for name, size, mtime in files:
        path = cache / name
        if size is None:
            raise JarCacheError(f"the jar cache {cache} lacks {name}: {fix}")
        if stamp is None:
            raise JarCacheError(f"the jar cache {cache} was never verified (no {VERIFIED.name}): {fix}")
        if mtime > stamp or not zipfile.is_zipfile(path):
            raise JarCacheError(f"{path} is corrupt or changed since it was verified: {fix}")
    return tuple(cache / name for name, _, _ in files)


def hadoop_version(jar_names: list[str]) -> str | None:
    """The version in a ``hadoop-aws-<version>.jar`` or ``hadoop-client-api-<version>.jar`` name, if any."""
    for name in jar_names:
        for prefix in ("hadoop-aws-", "hadoop-client-api-"):
            if name.startswith(prefix) and name.endswith(".jar"):
                return name.removeprefix(prefix).removesuffix(".jar")
    return None
