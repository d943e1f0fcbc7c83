"""``EmrServerlessLauncher``: a job run on the team's EMR Serverless application, through
dagster-aws's ``PipesEMRServerlessClient``.

What the subclass changes in dagster-aws 0.29 (each has a regression test in tests/emr):
the wait is bounded by the asset's timeout and any failure, timeout or interruption
cancels the job run; a failed job run surfaces its driver's stderr tail; the caller's
request is never mutated; the request carries a client token; job runs are tagged with
team, asset, substrate, stage and run id; billed usage becomes metadata; messages come
from S3 and driver logs are read once at the end (no fixed waits).
"""

from __future__ import annotations

import copy
import time
from typing import Any, ClassVar

import dagster as dg
from dagster._core.pipes.utils import open_pipes_session
from dagster_aws.pipes import PipesEMRServerlessClient

from emr_platform import discovery
from emr_platform.launcher import SparkJobError, Usage
from resources.emr import logs, params
from resources.emr.common import EmrLauncher, Launch, cleanup, failure_tail, forward_logs

SUBSTRATE = "emr-serverless"
ACTIVE_STATES = {"SUBMITTED", "PENDING", "SCHEDULED", "RUNNING", "QUEUED", "CANCELLING"}
STARTABLE_APPLICATION_STATES = {"CREATED", "STOPPED"}


class PlatformEMRServerlessClient(PipesEMRServerlessClient):
    """``PipesEMRServerlessClient`` bounded by a deadline, cleaning up after itself."""

    def __init__(self, launch: Launch, client: Any, logs_client: Any):
        settings = launch.config.emr_serverless
        super().__init__(
            client=client,
            message_reader=launch.message_reader(),
            poll_interval=settings.poll_interval_seconds,
        )
        self.launch = launch
        self.logs_client = logs_client
        self.job_run: dict[str, Any] | None = None

    def run(self, *, context, start_job_run_params, extras=None) -> dg.PipesClientCompletedInvocation:
        with open_pipes_session(
            context=context, message_reader=self.message_reader, context_injector=self.context_injector, extras=extras
        ) as session:
            request = self._enrich_start_params(context, session, start_job_run_params)
            started = self._start(context, request)
            try:
                completed = self._wait_for_completion(context, started)
                self._read_messages(context, session, completed)
                return dg.PipesClientCompletedInvocation(session, metadata=self._extract_dagster_metadata(completed))
            except BaseException:  # failure, timeout, or the run terminated from the UI
                with cleanup(context, f"cancel job run {started['jobRunId']}"):
                    self._cancel_if_active(context, started)
                raise

    def _enrich_start_params(self, context, session, params):
        return super()._enrich_start_params(context, session, copy.deepcopy(params))

    def _wait_for_completion(self, context, start_response):
        app, job_run_id = start_response["applicationId"], start_response["jobRunId"]
        while True:
            response = self.client.get_job_run(applicationId=app, jobRunId=job_run_id)
            job_run = response["jobRun"]
            state = job_run["state"]
            if state == "SUCCESS":
                self.job_run = job_run
                return response
            if state in ("FAILED", "CANCELLED"):
                found = self._driver_logs(job_run, self.launch.config.emr_serverless.log_wait_seconds)
                forward_logs(context, found)
                raise SparkJobError(
                    SUBSTRATE,
                    self.launch.job,
                    f"job run {job_run_id} {state}: {job_run.get('stateDetails') or 'no details'}",
                    failure_tail(found),
                )
            if state not in ACTIVE_STATES:
                raise SparkJobError(SUBSTRATE, self.launch.job, f"job run {job_run_id} in unexpected state {state}")
            self.launch.check_deadline(SUBSTRATE, f"job run {job_run_id}")
            time.sleep(self.poll_interval)

    def _read_messages(self, context, session, response) -> None:
        # Messages come through the S3 message reader; the driver's output is forwarded if present.
        forward_logs(context, self._driver_logs(response["jobRun"], wait_seconds=0))

    def _driver_logs(self, job_run: dict[str, Any], wait_seconds: float) -> dict[str, str]:
        found = {}
        for stream in ("stdout", "stderr"):
            text = logs.serverless_driver_log(self.launch.s3, self.logs_client, job_run, stream, wait_seconds)
            if text is not None:
                found[f"driver {stream}"] = text
                wait_seconds = 0  # written together: once one is there, the other is too or never
        return found

    def _cancel_if_active(self, context, start_response) -> None:
        app, job_run_id = start_response["applicationId"], start_response["jobRunId"]
        state = self.client.get_job_run(applicationId=app, jobRunId=job_run_id)["jobRun"]["state"]
        if state in ACTIVE_STATES - {"CANCELLING"}:
            context.log.warning(f"cancelling EMR Serverless job run {job_run_id} ({state})")
            self.client.cancel_job_run(applicationId=app, jobRunId=job_run_id)


class EmrServerlessLauncher(EmrLauncher):
    """EMR Serverless: a job run on the team's application (found by name, started if stopped),
    with the team's execution role, the job size's Spark properties, and S3 (plus CloudWatch)
    logging. Usage is AWS's ``billedResourceUtilization`` (vCPU-hours, memory and storage GB-hours).
    """

    substrate: ClassVar[str] = SUBSTRATE

    def run(self, launch: Launch) -> tuple[dg.PipesClientCompletedInvocation, Usage]:
        config, job, context = launch.config, launch.job, launch.context
        emr = launch.session.client("emr-serverless")
        application_id = discovery.serverless_application_id(config, job.team, emr_serverless=emr)
        state = emr.get_application(applicationId=application_id)["application"]["state"]
        if state in STARTABLE_APPLICATION_STATES:
            context.log.info(f"starting EMR Serverless application {application_id} ({state})")
            emr.start_application(applicationId=application_id)
        request = params.serverless_start_params(
            config,
            job,
            application_id=application_id,
            execution_role_arn=discovery.execution_role_arn(config, job.team, iam=launch.session.client("iam")),
            script_uri=launch.staged.script_uri,
            py_files_uri=launch.staged.py_files_uri,
            client_token=launch.client_token,
        )
        client = PlatformEMRServerlessClient(launch, emr, launch.session.client("logs"))
        started = time.monotonic()
        invocation = client.run(context=context, start_job_run_params=request, extras=job.extras)
        return invocation, usage(client.job_run, time.monotonic() - started)


def usage(job_run: dict[str, Any], wall_seconds: float) -> Usage:
    """Usage of a finished job run from its ``billedResourceUtilization`` (AWS rounds it up to
    the one-minute minimum per worker; "Billing", EMR Serverless user guide)."""
    billed = job_run.get("billedResourceUtilization") or {}
    return Usage(
        substrate=SUBSTRATE,
        job_seconds=float(job_run.get("totalExecutionDurationSeconds") or wall_seconds),
        vcpu_hours=float(billed.get("vCPUHour", 0.0)),
        memory_gb_hours=float(billed.get("memoryGBHour", 0.0)),
        storage_gb_hours=float(billed.get("storageGBHour", 0.0)),
        billed=bool(billed),
    )
