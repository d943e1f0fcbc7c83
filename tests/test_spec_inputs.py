"""A location whose spec reads an asset no location declares, or a team outside its upstream_teams, fails to load."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from assets.catalog import declared_keys
from emr_platform.config import ConfigError, load_config
from assets.lib.factory import team_definitions
from emr_platform.spec import Source, SparkAsset
from tests.conftest import copy_platform


@pytest.fixture
def package(tmp_path: Path) -> Path:
    """A team package folder ``assets/<team>`` with one job script."""
    folder = tmp_path / "assets" / "analytics"
    folder.mkdir(parents=True)
    (folder / "job.py").write_text("")
    return folder


def spec(table: str = "t", **inputs) -> SparkAsset:
    return SparkAsset(domain="d", table=table, script="job.py", description="x", inputs=inputs)


def load_problems(team: str, specs, base_dir: Path, **kwargs) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        team_definitions(team, specs, base_dir, config=load_config("local"), **kwargs)
    return raised.value.problems


def test_an_input_that_no_location_declares_fails_the_load_naming_the_spec(package):
    specs = [spec(flights="data-engineering/core/flights_cleen")]
    assert load_problems("analytics", specs, package, declared_keys=declared_keys) == [
        "assets/analytics: analytics/d/t.inputs.flights: expected an asset key that code location data-engineering "
        "declares (did you mean 'data-engineering/core/flights_clean'?), got 'data-engineering/core/flights_cleen'"
    ]


def test_an_input_of_the_team_itself_is_checked_against_its_own_specs(package):
    specs = [spec("a"), spec("b", upstream="analytics/d/c")]
    assert load_problems("analytics", specs, package) == [
        "assets/analytics: analytics/d/b.inputs.upstream: expected an asset key that code location analytics "
        "declares (did you mean 'analytics/d/b'?), got 'analytics/d/c'"
    ]


def test_reading_a_team_outside_upstream_teams_fails_the_load(package):
    specs = [spec(features="data-science/features/flight_weather", bad="data-engineering/core")]
    assert load_problems("analytics", specs, package, declared_keys=declared_keys) == [
        "assets/analytics: analytics/d/t.inputs.features: expected an asset of analytics or of its upstream_teams "
        "in config.yml (data-engineering; IAM denies reading other teams on EMR), got 'data-science/features/flight_weather'",
        "assets/analytics: analytics/d/t.inputs.bad: expected an asset key 'team/domain/table', got 'data-engineering/core'",
    ]


def test_declared_inputs_of_upstream_teams_and_sources_load(package):
    specs = [spec(flights="data-engineering/core/flights_clean", raw=Source("nycflights13", "flights.csv"))]
    defs = team_definitions("analytics", specs, package, config=load_config("local"), declared_keys=declared_keys)
    assert defs.resolve_asset_graph().get_all_asset_keys()


def test_catalog_reads_each_team_package_specs():
    assert "data-engineering/core/flights_clean" in declared_keys("data-engineering")
    assert declared_keys("data-science") == {"data-science/features/flight_weather", "data-science/models/delay_model"}
    assert declared_keys("no-such-team") == frozenset()


def test_a_typo_in_another_teams_key_fails_the_team_modules_own_load(tmp_path):
    """The team modules hand the catalogue to the factory: importing assets.analytics with a misspelt
    data-engineering key in its defs.yaml fails in a fresh interpreter, naming the file, line and field."""
    root = copy_platform(tmp_path / "platform")
    declared = root / "assets" / "analytics" / "defs" / "performance" / "carrier_monthly" / "defs.yaml"
    declared.write_text(declared.read_text().replace("data-engineering/core/flights_clean", "data-engineering/core/flights_cleen"))
    env = {k: v for k, v in os.environ.items() if k != "EMR_PLATFORM_STAGE"} | {"PYTHONPATH": str(root)}
    done = subprocess.run(
        [sys.executable, "-c", "import assets.analytics"], cwd=root, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 1
    assert (
        "assets/analytics/defs/performance/carrier_monthly/defs.yaml:9 attributes.inputs.flights: "
        "expected an asset key that code "
        "location data-engineering declares (did you mean 'data-engineering/core/flights_clean'?), "
        "got 'data-engineering/core/flights_cleen'"
    ) in done.stderr
