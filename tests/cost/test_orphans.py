"""The orphan sensor against EMR and EMR Serverless on moto: work whose Dagster run ended is stopped, the rest is left."""

from __future__ import annotations

import boto3
import dagster as dg
from moto.backends import get_backend
from moto.core import DEFAULT_ACCOUNT_ID

from assets.platform_cost import platform_definitions
from emr_platform.releases import DEFAULT_LABEL
from tests.cost.conftest import stage_config

ROLE = "arn:aws:iam::123456789012:role/emr-platform-dev-analytics"


def _run(instance: dg.DagsterInstance, status: dg.DagsterRunStatus) -> str:
    run = dg.DagsterRun(job_name="all_assets", status=status)
    instance.add_run(run)
    return run.run_id


def _cluster(emr, run_id: str, **extra_tags: str) -> str:
    tags = {"team": "analytics", "stage": "dev", "dagster-run-id": run_id, **extra_tags}
    return emr.run_job_flow(
        Name=f"analytics-{run_id[:8]}",
        ReleaseLabel=DEFAULT_LABEL,
        Instances={"MasterInstanceType": "m5.xlarge", "InstanceCount": 1, "KeepJobFlowAliveWhenNoSteps": True},
        JobFlowRole="EMR_EC2_DefaultRole",
        ServiceRole="EMR_DefaultRole",
        Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
    )["JobFlowId"]


def _job_run(serverless, application: str, run_id: str) -> str:
    """A job run still RUNNING: moto finishes job runs at once, so its state is set as AWS shows it mid-run."""
    job_run_id = serverless.start_job_run(
        applicationId=application,
        executionRoleArn=ROLE,
        jobDriver={"sparkSubmit": {"entryPoint": "s3://artifacts/job.py"}},
        tags={"team": "analytics", "stage": "dev", "dagster-run-id": run_id},
        clientToken=run_id,
    )["jobRunId"]
    backend = get_backend("emr-serverless")[DEFAULT_ACCOUNT_ID]["us-east-1"]
    next(j for j in backend.job_runs[application] if j.id == job_run_id).state = "RUNNING"
    return job_run_id


def test_orphan_sensor_stops_work_of_ended_runs_only(aws, tmp_path):
    instance = dg.DagsterInstance.ephemeral()
    ended, running = _run(instance, dg.DagsterRunStatus.FAILURE), _run(instance, dg.DagsterRunStatus.STARTED)
    unknown = "0" * 8 + "-0000-0000-0000-" + "0" * 12  # another deployment's run: not ours to stop
    emr, serverless = boto3.client("emr"), boto3.client("emr-serverless")
    orphan_cluster, live_cluster = _cluster(emr, ended), _cluster(emr, running)
    foreign_cluster, other_stage = _cluster(emr, unknown), _cluster(emr, ended, stage="prod")
    application = serverless.create_application(name="analytics", releaseLabel=DEFAULT_LABEL, type="SPARK")["applicationId"]
    orphan_job, live_job = _job_run(serverless, application, ended), _job_run(serverless, application, running)

    sensor = platform_definitions(stage_config("dev", tmp_path / "lake")).resolve_sensor_def("emr_orphan_sensor")
    result = sensor.evaluate_tick(dg.build_sensor_context(instance=instance))

    assert result.run_requests == [] and "stopped 2 orphan(s)" in result.skip_message
    state = {c: emr.describe_cluster(ClusterId=c)["Cluster"]["Status"]["State"] for c in (orphan_cluster, live_cluster, foreign_cluster, other_stage)}
    assert state[orphan_cluster].startswith("TERMINAT")
    assert not any(state[c].startswith("TERMINAT") for c in (live_cluster, foreign_cluster, other_stage))
    job_state = {j: serverless.get_job_run(applicationId=application, jobRunId=j)["jobRun"]["state"] for j in (orphan_job, live_job)}
    assert job_state[orphan_job] in ("CANCELLING", "CANCELLED") and job_state[live_job] not in ("CANCELLING", "CANCELLED")

    again = sensor.evaluate_tick(dg.build_sensor_context(instance=instance))
    assert again.skip_message == "no orphans"
