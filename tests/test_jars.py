"""The jar cache (emr_platform/jars.py): the pinned S3A jars match the Hadoop pyspark bundles, and
a missing, unverified, truncated or changed jar is one clear error that says to run make install."""

from __future__ import annotations

import importlib.util
import os
import shutil
import zipfile
from pathlib import Path

import pytest

from emr_platform import jars


def pyspark_jar_names() -> list[str]:
    """The jars pyspark ships (without importing it)."""
    return [p.name for p in (Path(importlib.util.find_spec("pyspark").origin).parent / "jars").iterdir()]


def test_hadoop_aws_is_exactly_the_hadoop_client_pyspark_bundles():
    # Hadoop's S3A guide forbids mixing hadoop-* versions: a pyspark upgrade must move jvm/pom.xml.
    pinned = jars.pinned()
    assert jars.hadoop_version(pinned) == jars.hadoop_version(pyspark_jar_names()) == "3.4.1"
    assert {name.split("-")[0] for name in pinned} == {"hadoop", "bundle"}
    assert (jars.REPO_ROOT / "jvm" / "pom.xml").read_text().count(f"<hadoop.version>{jars.hadoop_version(pinned)}<") == 1


def fake_cache(tmp_path: Path) -> Path:
    """A verified cache holding a small zip under each pinned jar's name."""
    cache = tmp_path / "jars"
    cache.mkdir()
    for name in jars.pinned():
        with zipfile.ZipFile(cache / name, "w") as archive:
            archive.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\n")
    (cache / jars.VERIFIED.name).touch()
    later = (cache / jars.VERIFIED.name).stat().st_mtime_ns + 1_000_000_000
    os.utime(cache / jars.VERIFIED.name, ns=(later, later))
    return cache


def test_a_verified_cache_gives_every_pinned_jar(tmp_path):
    cache = fake_cache(tmp_path)
    assert jars.spark_jars(cache) == [cache / name for name in jars.pinned()]


def test_a_missing_jar_says_to_run_make_install(tmp_path):
    cache = fake_cache(tmp_path)
    (cache / jars.pinned()[1]).unlink()
    with pytest.raises(jars.JarCacheError, match=rf"lacks {jars.pinned()[1]}: run `make install`"):
        jars.spark_jars(cache)


def test_an_unverified_cache_is_refused(tmp_path):
    cache = fake_cache(tmp_path)
    (cache / jars.VERIFIED.name).unlink()
    with pytest.raises(jars.JarCacheError, match="never verified.*make install"):
        jars.spark_jars(cache)


def test_a_truncated_or_changed_jar_is_refused(tmp_path):
    cache = fake_cache(tmp_path)
    first = cache / jars.pinned()[0]
    data = first.read_bytes()
    first.write_bytes(data[: len(data) // 2])  # a download cut short: no zip directory, and newer than the check
    with pytest.raises(jars.JarCacheError, match=rf"{first.name} is corrupt or changed.*make install"):
        jars.spark_jars(cache)
    shutil.rmtree(cache)
    cache = fake_cache(tmp_path)
    stamp = (cache / jars.VERIFIED.name).stat().st_mtime_ns
    os.utime(cache / jars.pinned()[0], ns=(stamp + 1, stamp + 1))  # whole, but written after the check
    with pytest.raises(jars.JarCacheError, match="corrupt or changed"):
        jars.spark_jars(cache)
