"""Partitions through Pipes on the EMR simulator: one partition and a single-run backfill's range
reach the job on EMR Serverless and EMR Classic, only they are written (as ``day=`` folders under
the team's lake prefix in moto's S3, written by the job's S3A), and each partition's launch has its
own client token."""

from __future__ import annotations

import boto3
import pytest

from emr_platform.lake.storage import open_storage
from tests.emr.conftest import build_infra, dev_config
from tests.partition_probe import probe_definitions, run_partitions, written

NY = "-05:00"


@pytest.mark.parametrize("team, substrate", [("data-engineering", "emr-serverless"), ("analytics", "emr-classic")])
def test_one_partition_and_a_range_on_emr(tmp_path, emr, team, substrate):
    config = dev_config()
    build_infra(config)
    defs, key = probe_definitions(config, team, tmp_path / "location", params={"marker": substrate})
    filesystem, bucket = open_storage(config, team).arrow_filesystem()  # the lake on moto's S3
    table = f"{bucket}/{team}/probe/days"

    assert run_partitions(defs, "2013-01-07").success
    backfill = run_partitions(defs, "2013-01-20", "2013-01-21")
    assert backfill.success
    assert written(table, filesystem) == {
        "2013-01-07": [("2013-01-07", "2013-01-07", f"2013-01-07T00:00:00{NY}", f"2013-01-08T00:00:00{NY}", substrate)],
        "2013-01-20": [("2013-01-20", "2013-01-21", f"2013-01-20T00:00:00{NY}", f"2013-01-22T00:00:00{NY}", substrate)],
        "2013-01-21": [("2013-01-20", "2013-01-21", f"2013-01-20T00:00:00{NY}", f"2013-01-22T00:00:00{NY}", substrate)],
    }
    assert len(tokens(substrate)) == 2  # one launch per run, each with its own token


def tokens(substrate: str) -> set[str]:
    """The client tokens of every job run (EMR Serverless) or cluster (EMR Classic) started."""
    if substrate == "emr-serverless":
        client = boto3.client("emr-serverless")
        found = set()
        for app in client.list_applications()["applications"]:
            try:
                runs = client.list_job_runs(applicationId=app["id"])["jobRuns"]
            except client.exceptions.ResourceNotFoundException:  # moto: an application without job runs
                continue
            for run in runs:
                found.add(client.get_job_run(applicationId=app["id"], jobRunId=run["id"])["jobRun"]["tags"]["client-token"])
        return found
    emr = boto3.client("emr")
    return {
        tag["Value"]
        for cluster in emr.list_clusters()["Clusters"]
        for tag in emr.describe_cluster(ClusterId=cluster["Id"])["Cluster"]["Tags"]
        if tag["Key"] == "client-token"
    }
