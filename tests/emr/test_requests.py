"""What the launchers ask EMR for: requests built from config, left unchanged by the Pipes
clients, and content-addressed artifacts."""

from __future__ import annotations

import copy
import io
import zipfile
from pathlib import Path

import boto3
import dagster as dg
import pytest

from emr_platform.launcher import SparkJob
from resources import site_of
from resources.emr import classic, launch, serverless
from resources.emr.classic import PlatformEMRClient
from resources.emr.launch import Deadline, cleanup
from resources.emr.serverless import PlatformEMRServerlessClient
from tests.emr.conftest import dev_config

TOKEN = "0" * 64


def probe_job(config, size="small") -> SparkJob:
    return SparkJob(
        team="analytics",
        asset_key=dg.AssetKey(["analytics", "probe", "t"]),
        script=Path("job.py"),
        inputs={},
        output="/tmp/out",
        size_name=size,
        size=config.job_sizes[size],
        checks=[],
        params={},
        timeout_seconds=600,
        tags={"team": "analytics", "asset": "analytics/probe/t", "substrate": "emr-classic", "stage": "dev"},
    )


def requests_of(config, job):
    site = site_of(config)
    step = classic.step_params(job, script_uri="s3://a/job.py", py_files_uri="s3://a/deps.zip", client_token=TOKEN, shared=False)
    job_flow = classic.job_flow_params(
        site, job, classic.cluster_profile(config.emr_classic, job), instance_profile="p", step_definition=step,
        client_token=TOKEN,
    )
    start = serverless.serverless_start_params(
        config.emr_serverless, site, job, application_id="app", execution_role_arn="arn:aws:iam::1:role/r",
        script_uri="s3://a/job.py", py_files_uri="s3://a/deps.zip", client_token=TOKEN,
    )
    return job_flow, start


def test_the_pipes_clients_leave_the_callers_request_unchanged(tmp_path):
    # dagster-aws 0.29 wrote tags and Spark confs into the caller's dict: reused, they accumulated.
    config = dev_config()
    job = probe_job(config)
    job_flow, start = requests_of(config, job)
    before = copy.deepcopy((job_flow, start))
    enriched = []

    @dg.asset
    def probe(context):  # no annotation: postponed annotations are strings dagster rejects
        session = boto3.session.Session(region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
        common = {"message_reader": dg.PipesTempFileMessageReader(), "job": job, "s3": session.client("s3"),
                  "deadline": Deadline.for_job(job, "emr"), "poll_interval": 1.0, "log_wait_seconds": 0.0}
        classic = PlatformEMRClient(client=session.client("emr"), shared_cluster_id=None, client_token=TOKEN, **common)
        serverless = PlatformEMRServerlessClient(
            client=session.client("emr-serverless"), logs_client=session.client("logs"), **common
        )
        for _ in range(2):
            with dg.open_pipes_session(
                context=context, message_reader=dg.PipesTempFileMessageReader(), context_injector=dg.PipesEnvContextInjector()
            ) as pipes:
                enriched.append(
                    (classic._enrich_params(pipes, job_flow), serverless._enrich_start_params(context, pipes, start))
                )
        return dg.MaterializeResult()

    assert dg.materialize([probe]).success
    assert (job_flow, start) == before
    for flow, run in enriched:
        args = flow["Steps"][0]["HadoopJarStep"]["Args"]
        assert sum(a.startswith("spark.yarn.appMasterEnv.DAGSTER_PIPES_CONTEXT=") for a in args) == 1
        assert [t["Key"] for t in flow["Tags"]].count("dagster/run-id") == 1
        submit = run["jobDriver"]["sparkSubmit"]["sparkSubmitParameters"]
        assert submit.count("spark.emr-serverless.driverEnv.DAGSTER_PIPES_CONTEXT=") == 1


def test_requests_follow_config(tmp_path):
    config = dev_config()
    job_flow, start = requests_of(config, probe_job(config, "medium"))
    assert job_flow["Instances"]["InstanceGroups"][2] == {
        "Name": "task-spot", "InstanceRole": "TASK", "InstanceType": "m5.xlarge", "InstanceCount": 2, "Market": "SPOT"
    }
    assert job_flow["Instances"]["KeepJobFlowAliveWhenNoSteps"] is False
    assert job_flow["AutoTerminationPolicy"] == {"IdleTimeout": 900}
    assert job_flow["SecurityConfiguration"] == "emr-platform-dev-security"
    assert job_flow["LogUri"] == "s3://emr-platform-dev-logs/analytics/emr-classic/"
    args = job_flow["Steps"][0]["HadoopJarStep"]["Args"]
    assert args[:3] == ["spark-submit", "--deploy-mode", "cluster"] and args[-1] == "s3://a/job.py"
    assert "spark.executor.memory=8g" in args and "spark.dynamicAllocation.maxExecutors=10" in args
    assert start["clientToken"] == TOKEN and start["executionTimeoutMinutes"] == 10
    assert start["configurationOverrides"]["monitoringConfiguration"]["cloudWatchLoggingConfiguration"] == {
        "enabled": True, "logGroupName": "/emr-platform/dev/analytics"
    }
    assert start["tags"]["client-token"] == TOKEN and start["tags"]["managed-by"] == "emr-platform"
    large, _ = requests_of(config, probe_job(config, "large"))  # the profile named like the size: fleets
    fleets = large["Instances"]["InstanceFleets"]
    assert [f["InstanceFleetType"] for f in fleets] == ["MASTER", "CORE", "TASK"] and fleets[2]["TargetSpotCapacity"] == 8
    assert large["ManagedScalingPolicy"]["ComputeLimits"]["UnitType"] == "InstanceFleetUnits"


def test_artifacts_are_uploaded_once_per_content(aws, tmp_path):
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="artifacts")
    script = tmp_path / "job.py"
    script.write_text("print('v1')\n")
    first = launch.stage(s3, "s3://artifacts/base", "analytics", script)
    assert len(first.uploaded) == 2 and first.script_uri.endswith("/job.py")
    assert launch.stage(s3, "s3://artifacts/base", "analytics", script).uploaded == ()
    script.write_text("print('v2')\n")
    second = launch.stage(s3, "s3://artifacts/base", "analytics", script)
    assert second.uploaded == (second.script_uri.removeprefix("s3://artifacts/"),)
    assert second.py_files_uri == first.py_files_uri and second.script_uri != first.script_uri
    names = zipfile.ZipFile(io.BytesIO(launch.dependency_zip())).namelist()
    assert "jobkit/__init__.py" in names and "jobkit/sql_job.py" in names and "dagster_pipes/__init__.py" in names


def test_a_failed_cleanup_is_logged_and_the_jobs_own_error_kept():
    context = dg.build_asset_context()
    with pytest.raises(ValueError, match="step s-1 FAILED"):
        try:
            raise ValueError("step s-1 FAILED")
        except ValueError:
            with cleanup(context, "terminate cluster j-1"):
                raise RuntimeError("AccessDenied")
            raise


def test_dagster_run_tags_go_on_a_job_flow_whether_or_not_it_has_tags(tmp_path):
    # dagster-aws parity: its PipesEMRClient tags every job flow with the run; ours only did when
    # the request already carried Tags.
    config = dev_config()
    job = probe_job(config)
    job_flow, _ = requests_of(config, job)
    untagged = {key: value for key, value in job_flow.items() if key != "Tags"}
    enriched = []

    @dg.asset
    def probe(context):
        session = boto3.session.Session(region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
        classic = PlatformEMRClient(
            client=session.client("emr"), message_reader=dg.PipesTempFileMessageReader(), shared_cluster_id=None,
            job=job, client_token=TOKEN, deadline=Deadline.for_job(job, "emr-classic"), s3=session.client("s3"),
            poll_interval=1.0, log_wait_seconds=0.0,
        )
        with dg.open_pipes_session(
            context=context, message_reader=dg.PipesTempFileMessageReader(), context_injector=dg.PipesEnvContextInjector()
        ) as pipes:
            enriched.append(classic._enrich_params(pipes, untagged))
        return dg.MaterializeResult()

    assert dg.materialize([probe]).success
    keys = [tag["Key"] for tag in enriched[0]["Tags"]]
    assert "dagster/run-id" in keys and "dagster/job" in keys
