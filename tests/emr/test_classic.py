"""EmrClassicLauncher against moto, with the simulator running the steps."""

from __future__ import annotations

import dataclasses
import sys
import threading
import time

import boto3
import dagster as dg
import pytest
from dagster._core.utils import make_new_run_id

from emr_platform.releases import DEFAULT_LABEL
from resources.emr import classic
from tests.conftest import on_aws_call
from tests.emr.conftest import (
    FAILING_SCRIPT,
    QUICK_SCRIPT,
    build_infra,
    dev_config,
    failure_description,
    interrupt_when,
    one_asset,
)
from tests.emr.test_requests import probe_job
from tests.emr.test_serverless import run_assets

CARRIERS = dg.AssetKey(["analytics", "performance", "carrier_monthly"])
AIRLINES = dg.AssetKey(["data-engineering", "raw", "airlines"])


def classic_config(tmp_path, **emr_classic):
    config = dev_config(**emr_classic)
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


def test_a_job_longer_than_sixty_polls_succeeds(tmp_path, emr):
    # dagster-aws waited with boto's cluster waiters: 60 attempts, then the asset failed and the
    # cluster kept running. Here 0.1 s polls make 60 attempts 6 s; the job takes longer.
    emr.hold_seconds = 8
    config = classic_config(tmp_path)
    build_infra(config)
    job, key = one_asset(config, "analytics", tmp_path, QUICK_SCRIPT)
    result = job.execute_in_process(raise_on_error=False)
    assert result.success
    steps = boto3.client("emr").list_steps(ClusterId=boto3.client("emr").list_clusters()["Clusters"][0]["Id"])
    assert steps["Steps"][0]["Status"]["State"] == "COMPLETED"


def test_a_timeout_fails_the_asset_and_terminates_the_cluster(tmp_path, emr):
    emr.hold_seconds = 60
    config = classic_config(tmp_path)
    build_infra(config)
    job, key = one_asset(config, "analytics", tmp_path, QUICK_SCRIPT, timeout_seconds=1)
    result = job.execute_in_process(raise_on_error=False)
    assert not result.success
    assert "did not end within 1 s" in failure_description(result)
    (cluster,) = boto3.client("emr").list_clusters()["Clusters"]
    assert cluster["Status"]["State"] == "TERMINATED"


@pytest.mark.parametrize("failure_races_the_poll", [False, True], ids=["failed", "failed-between-two-polls"])
def test_a_failed_step_fails_the_asset_with_its_reason_and_driver_stderr(tmp_path, emr, monkeypatch, failure_races_the_poll):
    if failure_races_the_poll:
        # The step fails, taking its transient cluster with it (TERMINATE_CLUSTER), between the
        # launcher's describe_step (still RUNNING) and its describe_cluster (already ended): the
        # launcher must report the step's failure, not "cluster ended before the step".
        observer = boto3.client("emr")

        def answer_once_the_cluster_ended(parsed, **_):
            if parsed.get("Step", {}).get("Status", {}).get("State") != "RUNNING":
                return
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                (cluster,) = observer.list_clusters()["Clusters"]
                if cluster["Status"]["State"] == "TERMINATED_WITH_ERRORS":
                    return
                time.sleep(0.1)

        on_aws_call(monkeypatch, "emr", "DescribeStep", answer_once_the_cluster_ended)
    config = classic_config(tmp_path)
    build_infra(config)
    job, key = one_asset(config, "analytics", tmp_path, FAILING_SCRIPT)
    result = job.execute_in_process(raise_on_error=False)
    assert not result.success
    message = failure_description(result)
    assert "FAILED: Application application_" in message and "finished with failed status" in message
    assert "ValueError: column dep_delay is missing from the flights table" in message
    assert "ended before the step" not in message
    (cluster,) = boto3.client("emr").list_clusters()["Clusters"]
    assert cluster["Status"]["State"] in ("TERMINATED", "TERMINATED_WITH_ERRORS")


def test_no_container_logs_is_not_an_error(tmp_path, emr):
    # dagster-aws listed <log uri>/<cluster>/containers/ and raised KeyError: 'Contents' when empty.
    emr.container_logs = False
    config = classic_config(tmp_path)
    build_infra(config)
    job, key = one_asset(config, "analytics", tmp_path, QUICK_SCRIPT)
    result = job.execute_in_process(raise_on_error=False)
    assert result.success


@pytest.mark.parametrize("substrate", ["emr-classic", "emr-serverless"])
def test_a_launch_never_sleeps_longer_than_a_poll(tmp_path, emr, monkeypatch, substrate):
    # dagster-aws slept 10 s per EMR launch before reading logs (wait_for_s3_logs_seconds), and
    # its log readers up to 60 s per log target that never appears: here a launch sleeps only
    # between two polls, and reads the logs (some never written) once at the end.
    emr.container_logs = False
    config = classic_config(tmp_path) if substrate == "emr-classic" else dev_config()
    build_infra(config)
    job, key = one_asset(config, "analytics" if substrate == "emr-classic" else "data-engineering", tmp_path, QUICK_SCRIPT)
    slept, real_sleep = [], time.sleep

    def sleep(seconds: float) -> None:
        caller = sys._getframe(1).f_globals.get("__name__", "")
        if threading.current_thread() is threading.main_thread() and caller.startswith(("resources.", "dagster_aws.")):
            slept.append(seconds)
        real_sleep(seconds)

    monkeypatch.setattr(time, "sleep", sleep)
    assert job.execute_in_process(raise_on_error=False).success
    poll = config.emr_classic.poll_interval_seconds if substrate == "emr-classic" else config.emr_serverless.poll_interval_seconds
    assert slept and max(slept) <= poll


def shared_cluster(name: str = "analytics-shared") -> str:
    """A long-running cluster (as a team would keep one) that takes two steps at a time."""
    return boto3.client("emr").run_job_flow(
        Name=name,
        ReleaseLabel=DEFAULT_LABEL,
        LogUri="s3://emr-platform-dev-logs/analytics/emr-classic/",
        Instances={
            "InstanceGroups": [
                {"InstanceRole": "MASTER", "InstanceType": "m5.xlarge", "InstanceCount": 1, "Market": "ON_DEMAND"},
                {"InstanceRole": "CORE", "InstanceType": "r5.xlarge", "InstanceCount": 2, "Market": "ON_DEMAND"},
            ],
            "KeepJobFlowAliveWhenNoSteps": True,
        },
        StepConcurrencyLevel=2,
        JobFlowRole="emr-platform-dev-analytics-ec2",  # the team's instance profile (build_infra)
        ServiceRole="EMR_DefaultRole",
    )["JobFlowId"]


def test_shared_mode_adds_a_step_and_leaves_the_cluster_running(tmp_path, emr):
    config = classic_config(tmp_path, mode="shared", shared_cluster="analytics-shared")
    build_infra(config)
    cluster_id = shared_cluster()
    job, key = one_asset(config, "analytics", tmp_path, QUICK_SCRIPT)
    with dg.instance_for_test() as instance:
        assert job.execute_in_process(instance=instance, raise_on_error=False).success
        metadata = instance.get_latest_materialization_event(key).asset_materialization.metadata
    client = boto3.client("emr")
    assert client.describe_cluster(ClusterId=cluster_id)["Cluster"]["Status"]["State"] in ("WAITING", "RUNNING")
    (step,) = client.list_steps(ClusterId=cluster_id)["Steps"]
    assert step["Status"]["State"] == "COMPLETED" and step["Name"].startswith("analytics/probe/t [")
    assert step["ActionOnFailure"] == "CONTINUE"
    # the step's share of the cluster: its duration x 3 instances / 2 concurrent steps
    assert set(metadata["instance_seconds"].value) == {"m5.xlarge/ON_DEMAND", "r5.xlarge/ON_DEMAND"}
    client.terminate_job_flows(JobFlowIds=[cluster_id])


def test_shared_mode_cancels_its_step_on_timeout(tmp_path, emr):
    emr.hold_seconds = 60
    config = classic_config(tmp_path, mode="shared", shared_cluster="analytics-shared")
    build_infra(config)
    cluster_id = shared_cluster()
    job, key = one_asset(config, "analytics", tmp_path, QUICK_SCRIPT, timeout_seconds=1)
    result = job.execute_in_process(raise_on_error=False)
    assert "did not end within 1 s" in failure_description(result)
    client = boto3.client("emr")
    (step,) = client.list_steps(ClusterId=cluster_id)["Steps"]
    assert step["Status"]["State"] in ("CANCEL_PENDING", "CANCELLED")
    assert client.describe_cluster(ClusterId=cluster_id)["Cluster"]["Status"]["State"] in ("WAITING", "RUNNING")
    client.terminate_job_flows(JobFlowIds=[cluster_id])


def test_shared_mode_names_a_missing_cluster(tmp_path, emr):
    config = classic_config(tmp_path, mode="shared", shared_cluster="nowhere")
    build_infra(config)
    job, key = one_asset(config, "analytics", tmp_path, QUICK_SCRIPT)
    result = job.execute_in_process(raise_on_error=False)
    assert "no WAITING or RUNNING EMR cluster named 'nowhere'" in failure_description(result)


def test_a_retried_launch_adopts_the_cluster_already_started(tmp_path, emr):
    # RunJobFlow takes no client token: the launch tags its cluster with one, and a retried
    # launch (same run, asset and attempt) finds that cluster instead of starting another.
    emr.hold_seconds = 4
    config = classic_config(tmp_path)
    build_infra(config)
    job, key = one_asset(config, "analytics", tmp_path, QUICK_SCRIPT)
    run_id = make_new_run_id()
    results = []
    # The two attempts run in threads of this one process (in production, two processes): Dagster's
    # compute-log capture redirects the process's stdout and stderr for each run and tails them, and
    # overlapping captures left a `tail` that outlived its 2 x 30 s cleanup timeouts on a loaded
    # machine (2 of 6 suite runs, 2026-11-27), past the join below. The attempts capture no logs.
    no_capture = {"compute_logs": {"module": "dagster._core.storage.noop_compute_log_manager", "class": "NoOpComputeLogManager"}}

    def first_attempt() -> None:
        with dg.instance_for_test(overrides=no_capture) as instance:
            results.append(job.execute_in_process(instance=instance, run_id=run_id, raise_on_error=False).success)

    first = threading.Thread(target=first_attempt)
    first.start()
    client = boto3.client("emr")
    deadline = time.monotonic() + 30
    while not client.list_clusters()["Clusters"] and time.monotonic() < deadline:
        time.sleep(0.05)
    with dg.instance_for_test(overrides=no_capture) as instance:
        assert job.execute_in_process(instance=instance, run_id=run_id, raise_on_error=False).success
        assert instance.get_latest_materialization_event(key).asset_materialization.metadata["dagster/row_count"].value == 5
    first.join(60)
    assert results == [True]
    (cluster,) = client.list_clusters()["Clusters"]
    assert len(client.list_steps(ClusterId=cluster["Id"])["Steps"]) == 1


def test_a_run_terminated_from_the_ui_terminates_the_transient_cluster(tmp_path, emr):
    # Terminating a run sends the run worker SIGINT, which Dagster raises as an interrupt.
    emr.hold_seconds = 60
    config = classic_config(tmp_path)
    build_infra(config)
    job, key = one_asset(config, "analytics", tmp_path, QUICK_SCRIPT)
    client = boto3.client("emr")

    def step_running() -> bool:
        clusters = client.list_clusters()["Clusters"]
        steps = client.list_steps(ClusterId=clusters[0]["Id"])["Steps"] if clusters else []
        return any(s["Status"]["State"] == "RUNNING" for s in steps)

    interrupt_when(step_running, job)
    (cluster,) = client.list_clusters()["Clusters"]
    assert cluster["Status"]["State"] == "TERMINATED"


def test_the_orphan_sensor_cancels_a_shared_cluster_step_of_an_ended_run(tmp_path, emr):
    # Steps take no tags: the run id in the step's name is how the orphan sensor finds them.
    from assets.platform_cost import platform_definitions

    emr.hold_seconds = 60  # both steps stay RUNNING until cancelled
    config = classic_config(tmp_path, mode="shared", shared_cluster="analytics-shared")
    build_infra(config)  # the team's instance profile, whose role the steps run as
    cluster_id = shared_cluster()
    instance = dg.DagsterInstance.ephemeral()
    runs = {}
    for status in (dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.STARTED):
        run = dg.DagsterRun(job_name="all_assets", status=status)
        instance.add_run(run)
        runs[status] = run.run_id
    client = boto3.client("emr")
    step_ids = {}
    for status, run_id in runs.items():
        job = dataclasses.replace(probe_job(config), tags={"dagster-run-id": run_id})
        token = run_id.replace("-", "")
        step = classic.step_params(job, script_uri="s3://a/job.py", py_files_uri="s3://a/d.zip", client_token=token, shared=True)
        step_ids[status] = client.add_job_flow_steps(JobFlowId=cluster_id, Steps=[step])["StepIds"][0]

    def states() -> dict:
        describe = client.describe_step
        return {s: describe(ClusterId=cluster_id, StepId=i)["Step"]["Status"]["State"] for s, i in step_ids.items()}

    deadline = time.monotonic() + 10  # the simulator starts both (step concurrency 2) within a tick or two
    while set(states().values()) != {"RUNNING"} and time.monotonic() < deadline:
        time.sleep(0.05)
    sensor = platform_definitions(config).resolve_sensor_def("emr_orphan_sensor")
    result = sensor.evaluate_tick(dg.build_sensor_context(instance=instance))
    assert "stopped 1 orphan(s)" in result.skip_message
    after = states()
    assert after[dg.DagsterRunStatus.FAILURE] in ("CANCEL_PENDING", "CANCELLED")
    assert after[dg.DagsterRunStatus.STARTED] == "RUNNING"
    client.terminate_job_flows(JobFlowIds=[cluster_id])
