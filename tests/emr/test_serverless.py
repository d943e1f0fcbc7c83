"""EmrServerlessLauncher against moto, with the simulator running the job runs."""

from __future__ import annotations

import boto3
import dagster as dg
from dagster._core.utils import make_new_run_id

from emr_platform.launcher import SparkJob
from resources import site_of
from resources.emr.serverless import EmrServerlessLauncher
from tests.conftest import team_locations
from tests.emr.conftest import (
    FAILING_SCRIPT,
    QUICK_SCRIPT,
    build_infra,
    dev_config,
    failure_description,
    interrupt_when,
    one_asset,
)

AIRLINES = dg.AssetKey(["data-engineering", "raw", "airlines"])


def run_assets(config, team, keys, **kwargs):
    defs = team_locations(config, [team])[team]
    job = defs.resolve_implicit_global_asset_job_def()
    return job.execute_in_process(asset_selection=list(keys), raise_on_error=False, **kwargs)


def test_a_job_run_materializes_with_billed_usage_and_tags(tmp_path, emr):
    config = dev_config()
    build_infra(config)
    with dg.instance_for_test() as instance:
        result = run_assets(config, "data-engineering", [AIRLINES], instance=instance)
        assert result.success, result.all_events
        metadata = instance.get_latest_materialization_event(AIRLINES).asset_materialization.metadata
    assert metadata["dagster/row_count"].value == 16
    assert metadata["substrate"].value == "emr-serverless"
    assert metadata["usage_billed"].value is True
    assert metadata["vcpu_hours"].value > 0 and metadata["cost_usd"].value > 0
    assert ".emrappui-prod." in metadata["spark_ui"].value
    client = boto3.client("emr-serverless")
    app = client.list_applications()["applications"][0]
    runs = client.list_job_runs(applicationId=app["id"])["jobRuns"]
    assert len(runs) == 1
    tags = client.get_job_run(applicationId=app["id"], jobRunId=runs[0]["id"])["jobRun"]["tags"]
    assert {k: tags[k] for k in ("team", "asset", "substrate", "stage")} == {
        "team": "data-engineering", "asset": "data-engineering/raw/airlines", "substrate": "emr-serverless", "stage": "dev"
    }
    assert tags["dagster-run-id"] == result.run_id


def applications() -> dict[str, dict]:
    client = boto3.client("emr-serverless")
    return {app["name"]: app for app in client.list_applications()["applications"]}


def job_runs(application_id: str) -> list[dict]:
    client = boto3.client("emr-serverless")
    try:
        return client.list_job_runs(applicationId=application_id)["jobRuns"]
    except client.exceptions.ResourceNotFoundException:  # moto: no job run yet
        return []


def test_the_stopped_application_is_started(tmp_path, emr):
    config = dev_config()
    build_infra(config)
    assert applications()["emr-platform-dev-data-engineering"]["state"] == "STOPPED"
    job, key = one_asset(config, "data-engineering", tmp_path, QUICK_SCRIPT)
    assert job.execute_in_process(raise_on_error=False).success
    assert applications()["emr-platform-dev-data-engineering"]["state"] == "STARTED"


def test_a_failed_job_run_surfaces_its_driver_stderr_from_s3(tmp_path, emr):
    # dagster-aws forwarded driver logs only after SUCCESS, and only from CloudWatch.
    config = dev_config()
    build_infra(config)
    job, key = one_asset(config, "data-engineering", tmp_path, FAILING_SCRIPT)
    result = job.execute_in_process(raise_on_error=False)
    message = failure_description(result)
    assert "FAILED: Job failed" in message
    assert "ValueError: column dep_delay is missing from the flights table" in message


def test_a_failed_job_run_surfaces_its_driver_stderr_from_cloudwatch(tmp_path, emr):
    emr.serverless_s3_logs = False
    config = dev_config()
    build_infra(config)
    job, key = one_asset(config, "data-engineering", tmp_path, FAILING_SCRIPT)
    message = failure_description(job.execute_in_process(raise_on_error=False))
    assert "ValueError: column dep_delay is missing from the flights table" in message


def test_a_timeout_cancels_the_job_run(tmp_path, emr):
    emr.hold_seconds = 60
    config = dev_config()
    build_infra(config)
    job, key = one_asset(config, "data-engineering", tmp_path, QUICK_SCRIPT, timeout_seconds=1)
    result = job.execute_in_process(raise_on_error=False)
    assert "did not end within 1 s" in failure_description(result)
    (run,) = job_runs(applications()["emr-platform-dev-data-engineering"]["id"])
    assert run["state"] == "CANCELLED"


def test_a_run_terminated_from_the_ui_cancels_the_job_run(tmp_path, emr):
    # Terminating a run sends the run worker SIGINT, which Dagster raises as an interrupt.
    emr.hold_seconds = 60
    config = dev_config()
    build_infra(config)
    job, key = one_asset(config, "data-engineering", tmp_path, QUICK_SCRIPT)
    app_id = applications()["emr-platform-dev-data-engineering"]["id"]

    interrupt_when(lambda: any(r["state"] == "RUNNING" for r in job_runs(app_id)), job)
    (run,) = job_runs(app_id)
    assert run["state"] == "CANCELLED"


def test_a_retried_launch_never_starts_a_second_job_run(tmp_path, emr):
    # Same run, asset and attempt: same client token, so EMR returns the job run it already
    # started, and its Pipes messages (under a prefix fixed by the token) are read again.
    config = dev_config()
    build_infra(config)
    job, key = one_asset(config, "data-engineering", tmp_path, QUICK_SCRIPT)
    run_id = make_new_run_id()
    for _ in range(2):
        with dg.instance_for_test() as instance:
            assert job.execute_in_process(instance=instance, run_id=run_id, raise_on_error=False).success
            metadata = instance.get_latest_materialization_event(key).asset_materialization.metadata
            assert metadata["dagster/row_count"].value == 5
    assert len(job_runs(applications()["emr-platform-dev-data-engineering"]["id"])) == 1


def test_a_missing_application_is_named(tmp_path, emr):
    config = dev_config()
    boto3.client("s3").create_bucket(Bucket="emr-platform-dev-artifacts")
    job, key = one_asset(config, "data-engineering", tmp_path, QUICK_SCRIPT)
    message = failure_description(job.execute_in_process(raise_on_error=False))
    assert "no usable EMR Serverless application named emr-platform-dev-data-engineering" in message



def test_the_spark_ui_link_and_the_applications_log_group_reach_the_asset(tmp_path, emr):
    # The launcher fetches GetDashboardForJobRun (dagster-aws's client does) and logs the link.
    # Driver logs go where the application's monitoring configuration (set by infra) sends them,
    # merged with the job run's overrides: here to the application's CloudWatch group only.
    emr.serverless_s3_logs = False
    config = dev_config()
    config = config.model_copy(
        update={"emr_serverless": config.emr_serverless.model_copy(update={"cloudwatch_logging": False})}
    )
    build_infra(config)
    client, logs = boto3.client("emr-serverless"), boto3.client("logs")
    group = "/emr-platform/dev/data-engineering-application"
    logs.create_log_group(logGroupName=group)
    name = "emr-platform-dev-data-engineering"
    client.delete_application(applicationId=applications()[name]["id"])
    client.create_application(
        name=name, releaseLabel=config.emr_serverless.release_label, type="SPARK",
        monitoringConfiguration={"cloudWatchLoggingConfiguration": {"enabled": True, "logGroupName": group}},
    )
    job, _ = one_asset(config, "data-engineering", tmp_path, FAILING_SCRIPT)
    result = job.execute_in_process(raise_on_error=False)
    assert not result.success
    assert "column dep_delay is missing from the flights table" in failure_description(result)
    (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    metadata = failure.event_specific_data.user_failure_data.metadata
    assert ".emrappui-prod." in metadata["spark_ui"].value


def test_the_launcher_takes_its_boto3_session_injected(tmp_path, emr):
    # Every AWS client of a launch comes from the session the launcher is given (here one that
    # records its calls), as dagster-aws's Pipes clients take their boto3 client.
    config = dev_config()
    build_infra(config)
    session = boto3.session.Session(region_name=config.platform.region)
    calls = []
    session.events.register("before-call", lambda model, **_: calls.append(f"{model.service_model.service_name}.{model.name}"))
    launcher = EmrServerlessLauncher(settings=config.emr_serverless, site=site_of(config), aws=session)
    script = tmp_path / "job.py"
    script.write_text(QUICK_SCRIPT)

    @dg.asset(key=["data-engineering", "probe", "t"])
    def probe(context):
        job = SparkJob(
            team="data-engineering", asset_key=context.asset_key, script=script, inputs={},
            output=str(tmp_path / "lake" / "probe"), size_name="small", size=config.job_sizes["small"], checks=[],
            params={}, timeout_seconds=600,
            tags={"team": "data-engineering", "asset": "data-engineering/probe/t", "substrate": "emr-serverless",
                  "stage": "dev", "dagster-run-id": context.run.run_id},
        )
        yield from launcher.launch(context, job)

    with dg.instance_for_test() as instance:
        assert dg.materialize([probe], instance=instance).success
        metadata = instance.get_latest_materialization_event(probe.key).asset_materialization.metadata
    assert metadata["dagster/row_count"].value == 5 and metadata["cost_usd"].value > 0
    assert {"s3.HeadObject", "iam.GetRole", "emr-serverless.StartJobRun", "emr-serverless.GetJobRun"} <= set(calls)
