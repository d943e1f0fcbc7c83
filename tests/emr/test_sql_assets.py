"""analytics' SQL asset ``carrier_monthly`` on every substrate: local Spark, EMR Serverless and EMR
Classic (the simulator), each giving exactly the rows of the PySpark script it replaced, with its
checks, its monthly partitions over a daily input and the platform's metadata."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from emr_platform import lake
from emr_platform.config import PlatformConfig
from apps.workspace import location_definitions
from tests.conftest import local_config
from tests.emr.conftest import build_infra, dev_config

KEY = dg.AssetKey(["analytics", "performance", "carrier_monthly"])
FLIGHTS = dg.AssetKey(["data-engineering", "core", "flights_clean"])
AIRLINES = dg.AssetKey(["data-engineering", "raw", "airlines"])
METADATA = {"dagster/row_count", "dagster/column_schema", "output_uri", "preview", "spark_seconds", "substrate", "cost_usd"}


def pyspark_carrier_monthly(inputs):
    """The PySpark transform carrier_monthly had before it became SQL (assets/analytics/jobs/carrier_monthly.py)."""
    airlines = inputs["airlines"].select("carrier", F.col("name").alias("carrier_name"))
    flights = inputs["flights"]
    flown = ~F.col("cancelled") & F.col("arr_delay").isNotNull()
    month_start = F.trunc(F.col("flight_date"), "month").alias("month_start")
    monthly = flights.groupBy("carrier", "month", month_start).agg(
        F.count("*").alias("flights"),
        F.sum(F.col("cancelled").cast("int")).alias("cancelled"),
        F.round(F.avg(F.when(flown, (F.col("arr_delay") <= 15).cast("double"))), 4).alias("on_time_rate"),
        F.round(F.avg(F.when(flown, F.col("arr_delay"))), 2).alias("mean_arr_delay"),
    )
    return monthly.join(airlines, "carrier", "left")


def write_inputs(spark: SparkSession, config: PlatformConfig) -> None:
    """Small upstream tables in the lake: daily flights (partitioned by flight date, as
    data-engineering writes them) with cancellations, null delays, a carrier without a name (which
    fails the not-null check, as it would have before) and a March day outside the run's months."""
    flights = spark.createDataFrame(
        [
            ("AA", "2013-01-02", False, 10.0), ("AA", "2013-01-31", False, 30.0), ("AA", "2013-01-05", True, None),
            ("AA", "2013-02-01", False, None), ("B6", "2013-01-09", False, -5.0), ("B6", "2013-01-10", False, 15.0),
            ("B6", "2013-03-01", True, None), ("ZZ", "2013-02-28", False, 99.0),
        ],
        "carrier string, flight_date string, cancelled boolean, arr_delay double",
    ).select("*", F.col("flight_date").cast("date").alias("day"))
    flights = flights.drop("flight_date").withColumnRenamed("day", "flight_date").withColumn("month", F.month("flight_date"))
    airlines = spark.createDataFrame([("AA", "American Airlines Inc."), ("B6", "JetBlue Airways")], "carrier string, name string")
    flights.write.mode("overwrite").partitionBy("flight_date").parquet(lake.asset_uri(config, FLIGHTS))
    airlines.write.mode("overwrite").parquet(lake.asset_uri(config, AIRLINES))


# January and February 2013 in one run (a single-run backfill of two monthly partitions)
MONTHS = {"dagster/asset_partition_range_start": "2013-01-01", "dagster/asset_partition_range_end": "2013-02-01"}


def materialize_and_compare(config: PlatformConfig, spark_remote: str, s3a: dict[str, str] | None = None) -> dict:
    """Write the inputs, materialize the SQL asset, compare it with the PySpark script's rows; its
    metadata. ``s3a``: the test session's confs for a lake in moto's S3."""
    spark = SparkSession.builder.remote(spark_remote).getOrCreate()
    for key, value in (s3a or {}).items():
        spark.conf.set(key, value)
    write_inputs(spark, config)
    defs = location_definitions("analytics", "assets.analytics", config)
    with dg.instance_for_test() as instance:
        result = defs.resolve_implicit_global_asset_job_def().execute_in_process(
            instance=instance, asset_selection=[KEY], tags=MONTHS, raise_on_error=False
        )
        metadata = instance.get_latest_materialization_event(KEY).asset_materialization.metadata
        checks = {
            e.asset_check_evaluation_data.check_name: e.asset_check_evaluation_data.passed
            for e in result.all_events
            if e.event_type_value == "ASSET_CHECK_EVALUATION"
        }
    written = spark.read.parquet(lake.asset_uri(config, KEY))
    flights = spark.read.parquet(lake.asset_uri(config, FLIGHTS)).where(F.col("flight_date") < "2013-03-01")
    expected = pyspark_carrier_monthly({"flights": flights, "airlines": spark.read.parquet(lake.asset_uri(config, AIRLINES))})
    columns = sorted(expected.columns)
    assert sorted(written.columns) == columns
    assert sorted(map(tuple, written.select(columns).collect())) == sorted(map(tuple, expected.select(columns).collect()))
    assert metadata["dagster/row_count"].value == 4  # AA and B6 in January, AA and ZZ in February
    assert metadata["partition_range"].value == "2013-01-01...2013-02-01"
    assert METADATA <= set(metadata)
    assert checks == {
        "non_empty": True,
        "no_null_carrier_carrier_name_month": False,  # ZZ has no name
        "unique_carrier_month": True,
        "on_time_rate_in_range": True,
        "month_in_range": True,
        "carrier_references_airlines": False,
    }
    return metadata


def test_the_sql_asset_on_local_spark_gives_the_rows_of_the_pyspark_script(tmp_path, spark_remote, connect_state):
    metadata = materialize_and_compare(local_config(tmp_path / "lake", connect_state), spark_remote)
    assert metadata["substrate"].value == "local"


@pytest.mark.parametrize("substrate", ["emr-serverless", "emr-classic"])
def test_the_sql_asset_on_emr_gives_the_rows_of_the_pyspark_script(tmp_path, emr, spark_remote, substrate):
    config = dev_config()
    config = config.model_copy(
        update={"execution": config.execution.model_copy(update={"asset_substrates": {KEY.to_user_string(): substrate}})}
    )
    build_infra(config)
    metadata = materialize_and_compare(config, spark_remote, emr.s3a_confs("testing", "testing"))
    assert metadata["substrate"].value == substrate
    assert metadata["cost_usd"].value > 0
    assert metadata["output_uri"].value == "s3://emr-platform-dev-lake/analytics/performance/carrier_monthly"


def test_a_partitioned_query_may_use_the_runs_bounds(spark_remote):
    """``:partition_start``/``:partition_end`` (time windows) and ``:partition_keys`` (static keys)
    are bound in a partitioned run; a query without them runs as it is."""
    import datetime as dt

    import jobkit
    from jobkit.sql_job import sql_args

    spark = SparkSession.builder.remote(spark_remote).getOrCreate()
    days = spark.sql("SELECT explode(sequence(DATE'2013-01-30', DATE'2013-02-02')) AS day")
    days.createOrReplaceTempView("days")
    utc = dt.timezone.utc
    window = jobkit.Partition(
        "daily", "day", ("2013-01-31", "2013-02-01"), dt.datetime(2013, 1, 31, tzinfo=utc), dt.datetime(2013, 2, 2, tzinfo=utc)
    )
    bounded = spark.sql("SELECT day FROM days WHERE day >= :partition_start AND day < :partition_end", args=sql_args(window))
    assert [str(r.day) for r in bounded.orderBy("day").collect()] == ["2013-01-31", "2013-02-01"]
    static = jobkit.Partition("static", "k", ("a", "c"))
    chosen = spark.sql("SELECT k FROM VALUES ('a'), ('b'), ('c') AS t(k) WHERE array_contains(:partition_keys, k)", args=sql_args(static))
    assert sorted(r.k for r in chosen.collect()) == ["a", "c"]
    assert spark.sql("SELECT 1 AS one", args=sql_args(window)).first().one == 1
