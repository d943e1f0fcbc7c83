"""cost_explorer_daily against Cost Explorer on moto: pagination, untagged spend, idempotent partitions,
one request per range, and the schedule of the last 3 days."""

from __future__ import annotations

import datetime as dt

import boto3
import dagster as dg
import pytest

from assets.platform_cost import platform_definitions
from assets.platform_cost.cost_assets import COST_EXPLORER_KEY
from emr_platform.cost import explorer
from tests.cost.conftest import day_result, seed_cost_and_usage, stage_config

SERVERLESS = "Amazon EMR Serverless"
EMR = "Amazon Elastic MapReduce"


def _ce_asset(config):
    return platform_definitions(config).resolve_assets_def(COST_EXPLORER_KEY)


def test_pages_are_followed_and_untagged_spend_is_kept(aws, tmp_path):
    config = stage_config("dev", tmp_path / "lake")
    first = day_result("2026-11-02", [("data-engineering", SERVERLESS, 12.5), ("", EMR, 3.25)])
    second = day_result("2026-11-02", [("analytics", EMR, 4.0)])
    seed_cost_and_usage(aws, {"ResultsByTime": [first], "NextPageToken": "page-2"}, {"ResultsByTime": [second]})

    result = dg.materialize([_ce_asset(config)], partition_key="2026-11-02", instance=dg.DagsterInstance.ephemeral())

    metadata = result.get_asset_materialization_events()[0].materialization.metadata
    assert metadata["cost_explorer_requests"].value == 2
    rows, found = explorer.read_days(config, [dt.date(2026, 11, 2)])
    assert found == {"2026-11-02"}
    assert sorted((r["team"], r["substrate"], r["amount"]) for r in rows) == [
        ("analytics", "emr-classic", 4.0),
        ("data-engineering", "emr-serverless", 12.5),
        ("untagged", "emr-classic", 3.25),
    ]
    assert metadata["untagged_usd"].value == 3.25
    assert (tmp_path / "lake/platform/cost/cost_explorer_daily/date=2026-11-02.parquet").is_file()


def test_rematerializing_a_partition_replaces_it_in_an_s3_lake(aws):
    boto3.client("s3").create_bucket(Bucket="cost-lake")
    config = stage_config("dev", "s3://cost-lake")
    day = dt.date(2026, 11, 3)
    explorer.write_partition(config, day, explorer.rows_from_results([day_result("2026-11-03", [("stale", EMR, 99.0)])]))
    seed_cost_and_usage(aws, {"ResultsByTime": [day_result("2026-11-03", [("analytics", EMR, 1.5), ("data-science", SERVERLESS, 2.0)])]})
    instance = dg.DagsterInstance.ephemeral()

    for _ in range(2):
        assert dg.materialize([_ce_asset(config)], partition_key="2026-11-03", instance=instance).success
        rows, _ = explorer.read_days(config, [day])
        assert sorted((r["team"], r["amount"]) for r in rows) == [("analytics", 1.5), ("data-science", 2.0)]
    keys = [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket="cost-lake")["Contents"]]
    assert keys == ["platform/cost/cost_explorer_daily/date=2026-11-03.parquet"]


def test_the_same_range_is_never_requested_twice(aws):
    seed_cost_and_usage(aws, {"ResultsByTime": [day_result("2026-11-01", [("analytics", EMR, 1.0)])]})
    query = explorer.CostExplorerQuery(boto3.client("ce", region_name="us-east-1"))
    assert len(query.daily(dt.date(2026, 11, 1), dt.date(2026, 11, 2))) == 1
    with pytest.raises(RuntimeError, match="already sent"):
        query.daily(dt.date(2026, 11, 1), dt.date(2026, 11, 2))
    assert query.requests == 1


def test_schedule_rematerializes_the_last_three_days_in_one_request(aws, tmp_path):
    config = stage_config("dev", tmp_path / "lake")
    defs = platform_definitions(config)
    schedule = defs.resolve_schedule_def("cost_explorer_restated_days")
    context = dg.build_schedule_context(scheduled_execution_time=dt.datetime(2026, 11, 4, 7, tzinfo=dt.UTC))
    request = schedule.evaluate_tick(context).run_requests[0]
    assert request.partition_key_range == dg.PartitionKeyRange("2026-11-01", "2026-11-03")
    days = [day_result(d, [("data-science", SERVERLESS, 1.0 + i)]) for i, d in enumerate(["2026-11-01", "2026-11-02", "2026-11-03"])]
    seed_cost_and_usage(aws, {"ResultsByTime": days})

    job = dg.define_asset_job("ce", selection=[COST_EXPLORER_KEY]).resolve(asset_graph=defs.resolve_asset_graph())
    result = job.execute_in_process(instance=dg.DagsterInstance.ephemeral(), tags=request.tags)

    assert result.success
    materializations = [e.materialization for e in result.get_asset_materialization_events()]
    assert {m.partition for m in materializations} == {"2026-11-01", "2026-11-02", "2026-11-03"}
    assert materializations[0].metadata["cost_explorer_requests"].value == 1
    rows, found = explorer.read_days(config, [dt.date(2026, 11, d) for d in (1, 2, 3)])
    assert found == {"2026-11-01", "2026-11-02", "2026-11-03"} and sorted(r["amount"] for r in rows) == [1.0, 2.0, 3.0]
