"""EmrClassicLauncher against moto, with the simulator running the steps."""

from __future__ import annotations

import boto3
import dagster as dg

from tests.emr.conftest import build_infra, dev_config
from tests.emr.test_serverless import run_assets

CARRIERS = dg.AssetKey(["analytics", "performance", "carrier_monthly"])
AIRLINES = dg.AssetKey(["data-engineering", "raw", "airlines"])


def classic_config(tmp_path, **emr_classic):
    config = dev_config(tmp_path / "lake", **emr_classic)
    return config.model_copy(
        update={"execution": config.execution.model_copy(update={"force_substrate": "emr-classic"})}
    )


def test_a_transient_cluster_runs_the_step_and_is_gone(tmp_path, emr):
    config = classic_config(tmp_path)
    build_infra(config)
    with dg.instance_for_test() as instance:
        result = run_assets(config, "data-engineering", [AIRLINES], instance=instance)
        assert result.success
        metadata = instance.get_latest_materialization_event(AIRLINES).asset_materialization.metadata
    assert metadata["dagster/row_count"].value == 16
    assert metadata["substrate"].value == "emr-classic"
    seconds = metadata["instance_seconds"].value
    assert set(seconds) == {"m5.xlarge/ON_DEMAND", "m5.xlarge/SPOT"} and all(v > 0 for v in seconds.values())
    assert metadata["cost_usd"].value > 0
    client = boto3.client("emr")
    (cluster,) = client.list_clusters()["Clusters"]
    assert cluster["Status"]["State"] == "TERMINATED"
    tags = {t["Key"]: t["Value"] for t in client.describe_cluster(ClusterId=cluster["Id"])["Cluster"]["Tags"]}
    assert tags["asset"] == "data-engineering/raw/airlines" and tags["substrate"] == "emr-classic"
    assert tags["dagster-run-id"] == result.run_id and tags["for-use-with-amazon-emr-managed-policies"] == "true"
