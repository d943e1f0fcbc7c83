"""EmrServerlessLauncher against moto, with the simulator running the job runs."""

from __future__ import annotations

import boto3
import dagster as dg

from tests.conftest import team_locations
from tests.emr.conftest import build_infra, dev_config

AIRLINES = dg.AssetKey(["data-engineering", "raw", "airlines"])


def run_assets(config, team, keys, **kwargs):
    defs = team_locations(config, [team])[team]
    job = defs.resolve_implicit_global_asset_job_def()
    return job.execute_in_process(asset_selection=list(keys), raise_on_error=False, **kwargs)


def test_a_job_run_materializes_with_billed_usage_and_tags(tmp_path, emr):
    config = dev_config(tmp_path / "lake")
    build_infra(config)
    with dg.instance_for_test() as instance:
        result = run_assets(config, "data-engineering", [AIRLINES], instance=instance)
        assert result.success, result.all_events
        metadata = instance.get_latest_materialization_event(AIRLINES).asset_materialization.metadata
    assert metadata["dagster/row_count"].value == 16
    assert metadata["substrate"].value == "emr-serverless"
    assert metadata["usage_billed"].value is True
    assert metadata["vcpu_hours"].value > 0 and metadata["cost_usd"].value > 0
    client = boto3.client("emr-serverless")
    app = client.list_applications()["applications"][0]
    runs = client.list_job_runs(applicationId=app["id"])["jobRuns"]
    assert len(runs) == 1
    tags = client.get_job_run(applicationId=app["id"], jobRunId=runs[0]["id"])["jobRun"]["tags"]
    assert {k: tags[k] for k in ("team", "asset", "substrate", "stage")} == {
        "team": "data-engineering", "asset": "data-engineering/raw/airlines", "substrate": "emr-serverless", "stage": "dev"
    }
    assert tags["dagster-run-id"] == result.run_id
