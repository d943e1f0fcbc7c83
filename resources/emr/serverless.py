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
from dataclasses import dataclass
from typing import Any, ClassVar

import dagster as dg
from dagster_aws.pipes import PipesEMRServerlessClient

from emr_platform import discovery, tags
from emr_platform.launcher import SparkJob, SparkJobError
from emr_platform.pricing import Usage
from emr_platform.substrates.emr_serverless import (
    ACTIVE_JOB_RUN_STATES,
    FAILED_JOB_RUN_STATES,
    NAME,
    STARTABLE_APPLICATION_STATES,
    EmrServerlessSettings,
)
from resources.emr import logs, requests
from resources.emr.launch import Deadline, EmrLauncher, Submission, cleanup, failure_tail, forward_logs, poll_until


# GetDashboardForJobRun's URL is valid for one hour ("GetDashboardForJobRun", EMR Serverless
# API reference, read 2026-11-26): refreshed a little before it expires.
DASHBOARD_REFRESH_SECONDS = 55 * 60


class PlatformEMRServerlessClient(PipesEMRServerlessClient):
    """``PipesEMRServerlessClient`` bounded by ``deadline``, cleaning up after itself.

    dagster-aws's ``run`` is kept; its hooks are overridden. ``client`` is the injected
    ``emr-serverless`` boto3 client; ``job`` names the asset in errors; ``s3`` and
    ``logs_client`` read the driver's logs, ``log_wait_seconds`` bounds the wait for them after
    a failure; ``architecture`` prices the usage, set (``usage``) when the metadata is extracted.
    """

    def __init__(
        self,
        *,
        client: Any,
        message_reader: dg.PipesMessageReader,
        poll_interval: float,
        job: SparkJob,
        deadline: Deadline,
        s3: Any,
        logs_client: Any,
        log_wait_seconds: float,
        architecture: str = "X86_64",
    ):
        super().__init__(
            client=client,
            message_reader=message_reader,
            poll_interval=poll_interval,
            dashboard_refresh_interval=DASHBOARD_REFRESH_SECONDS,
        )
        self.job, self.deadline = job, deadline
        self.s3, self.logs_client, self.log_wait_seconds = s3, logs_client, log_wait_seconds
        self.architecture = architecture
        self.job_run: dict[str, Any] | None = None
        self.usage: Usage | None = None
        self.dashboard_url: str | None = None
        self._described_application: dict[str, Any] | None = None
        self._dashboard_fetched_at: float | None = None
        self._started_at = time.monotonic()

    def _enrich_start_params(self, context, session, params) -> dict[str, Any]:
        """A copy of ``params`` with the Pipes environment on the driver and Dagster's tags
        (dagster-aws's enrichment, which would otherwise write into the caller's dict)."""
        return super()._enrich_start_params(context, session, copy.deepcopy(params))

    def _start(self, context, params) -> dict[str, Any]:
        """``start_job_run``; interrupted while it was in flight, the job run EMR may have started
        is found by its client token and cancelled."""
        self._started_at = time.monotonic()
        try:
            return super()._start(context, params)
        except BaseException:
            with cleanup(context, "cancel job run (started, id not yet known)"):
                job_run_id = self._find_job_run(params["applicationId"], params["clientToken"])
                if job_run_id:
                    self._cancel_if_active(context, params["applicationId"], job_run_id)
            raise

    def _wait_for_completion(self, context, start_response) -> dict[str, Any]:
        """``{"jobRun": ...}`` once it succeeded; on failure, timeout or interruption (the run
        terminated from the UI) the job run is cancelled and :class:`SparkJobError` raised."""
        application_id, job_run_id = start_response["applicationId"], start_response["jobRunId"]
        try:
            self.job_run = self._wait(context, application_id, job_run_id)
        except BaseException:
            self._terminate(context, start_response)
            raise
        self._refresh_dashboard(context, application_id, job_run_id, force=True)  # the completed run's Spark UI
        return {"jobRun": self.job_run}

    def _read_messages(self, context, session, response) -> None:
        """Messages come from S3 during the run; the driver's logs are read once, now, into the asset's log."""
        forward_logs(context, self._driver_logs(response["jobRun"], wait_seconds=0))

    def _extract_dagster_metadata(self, response) -> dict[str, Any]:
        """dagster-aws's metadata (application and job run id), the Spark UI, and the billed
        usage with its cost (:meth:`emr_platform.pricing.Usage.metadata`)."""
        job_run = response["jobRun"]
        self.usage = usage(job_run, time.monotonic() - self._started_at, self.architecture)
        metadata = dict(super()._extract_dagster_metadata(response))
        if self.dashboard_url:
            metadata["spark_ui"] = dg.MetadataValue.url(self.dashboard_url)
        return {**metadata, **self.usage.metadata()}

    def _terminate(self, context, start_response) -> None:
        """Cancel the job run unless it has ended; a refusal is logged, never raised over the job's own error."""
        job_run_id = start_response["jobRunId"]
        with cleanup(context, f"cancel job run {job_run_id}"):
            self._cancel_if_active(context, start_response["applicationId"], job_run_id)

    def _wait(self, context, application_id: str, job_run_id: str) -> dict[str, Any]:
        """The job run once it left the active states; raises :class:`SparkJobError` unless it succeeded."""
        def poll() -> dict[str, Any]:
            job_run = self.client.get_job_run(applicationId=application_id, jobRunId=job_run_id)["jobRun"]
            if job_run["state"] == "RUNNING":
                self._refresh_dashboard(context, application_id, job_run_id)
            return job_run

        what = f"job run {job_run_id}"
        job_run = poll_until(
            poll,
            lambda run: run["state"] not in ACTIVE_JOB_RUN_STATES,
            interval=self.poll_interval,
            until=self.deadline.at,
            timeout=lambda run: self.deadline.expired(what),
        )
        state = job_run["state"]
        if state == "SUCCESS":
            return job_run
        if state in FAILED_JOB_RUN_STATES:
            self._refresh_dashboard(context, application_id, job_run_id, force=True)  # the Spark UI of what failed
            found = self._driver_logs(job_run, self.log_wait_seconds)
            forward_logs(context, found)
            reason = f"job run {job_run_id} {state}: {job_run.get('stateDetails') or 'no details'}"
            links = {"spark_ui": self.dashboard_url} if self.dashboard_url else {}
            raise SparkJobError(NAME, self.job, reason, failure_tail(found), links)
        raise SparkJobError(NAME, self.job, f"job run {job_run_id} in unexpected state {state}")

    def _refresh_dashboard(self, context, application_id: str, job_run_id: str, force: bool = False) -> bool:
        """Fetch the job run's Spark UI URL (``GetDashboardForJobRun``) once, again when it is about to
        expire, or now if ``force``; logs it. False when EMR Serverless gives none (never fatal)."""
        age = time.monotonic() - (self._dashboard_fetched_at or 0.0)
        fresh = self._dashboard_fetched_at is not None and age < (self.dashboard_refresh_interval or float("inf"))
        if fresh and not force:
            return True
        try:
            url = self.client.get_dashboard_for_job_run(applicationId=application_id, jobRunId=job_run_id)["url"]
        except Exception as exc:  # the link is a convenience: a refusal must not fail the job
            context.log.warning(f"no Spark UI link for job run {job_run_id}: {exc}")
            return False
        if url != self.dashboard_url:
            context.log.info(f"Spark UI of job run {job_run_id} (valid for one hour): {url}")
        self.dashboard_url, self._dashboard_fetched_at = url, time.monotonic()
        return True

    def _application(self, job_run: dict[str, Any]) -> dict[str, Any]:
        """The job run's application (its ``monitoringConfiguration`` is where logs go by default)."""
        if self._described_application is None:
            self._described_application = self.client.get_application(applicationId=job_run["applicationId"])["application"]
        return self._described_application

    def _driver_logs(self, job_run: dict[str, Any], wait_seconds: float) -> dict[str, str]:
        found = {}
        for stream in ("stdout", "stderr"):
            text = logs.serverless_driver_log(
                self.s3, self.logs_client, job_run, stream, wait_seconds, application=self._application(job_run)
            )
            if text is not None:
                found[f"driver {stream}"] = text
                wait_seconds = 0  # written together: once one is there, the other is too or never
        return found

    def _find_job_run(self, application_id: str, client_token: str) -> str | None:
        """The active job run of ``application_id`` tagged with ``client_token``, if any."""
        states = [state for state in ACTIVE_JOB_RUN_STATES if state != "CANCELLING"]
        for page in self.client.get_paginator("list_job_runs").paginate(applicationId=application_id, states=states):
            for summary in page["jobRuns"]:
                job_run = self.client.get_job_run(applicationId=application_id, jobRunId=summary["id"])["jobRun"]
                if job_run.get("tags", {}).get(tags.CLIENT_TOKEN) == client_token:
                    return summary["id"]
        return None

    def _cancel_if_active(self, context, application_id: str, job_run_id: str) -> None:
        state = self.client.get_job_run(applicationId=application_id, jobRunId=job_run_id)["jobRun"]["state"]
        if state in ACTIVE_JOB_RUN_STATES and state != "CANCELLING":
            context.log.warning(f"cancelling EMR Serverless job run {job_run_id} ({state})")
            self.client.cancel_job_run(applicationId=application_id, jobRunId=job_run_id)


@dataclass(frozen=True)
class EmrServerlessLauncher(EmrLauncher):
    """EMR Serverless: a job run on the team's application (found by name, started if stopped),
    with the team's execution role, the job size's Spark properties, and S3 (plus CloudWatch)
    logging. Usage is AWS's ``billedResourceUtilization`` (vCPU-hours, memory and storage GB-hours).
    """

    substrate: ClassVar[str] = NAME
    settings: EmrServerlessSettings

    def pipes_client(self, context, job: SparkJob, submission: Submission) -> tuple[PlatformEMRServerlessClient, dict[str, Any]]:
        session = submission.session
        emr = session.client("emr-serverless")
        application_id = discovery.serverless_application_id(self.site, job.team, emr_serverless=emr)
        state = emr.get_application(applicationId=application_id)["application"]["state"]
        if state in STARTABLE_APPLICATION_STATES:
            context.log.info(f"starting EMR Serverless application {application_id} ({state})")
            emr.start_application(applicationId=application_id)
        request = requests.serverless_start_params(
            self.settings,
            self.site,
            job,
            application_id=application_id,
            execution_role_arn=discovery.execution_role_arn(self.site, job.team, iam=session.client("iam")),
            script_uri=submission.staged.script_uri,
            py_files_uri=submission.staged.py_files_uri,
            client_token=submission.client_token,
        )
        client = PlatformEMRServerlessClient(
            client=emr,
            message_reader=submission.message_reader,
            poll_interval=self.settings.poll_interval_seconds,
            job=job,
            deadline=submission.deadline,
            s3=submission.s3,
            logs_client=session.client("logs"),
            log_wait_seconds=self.settings.log_wait_seconds,
            architecture=self.settings.architecture,
        )
        return client, {"start_job_run_params": request}


def usage(job_run: dict[str, Any], wall_seconds: float, architecture: str = "X86_64") -> Usage:
    """Usage of a finished job run from its ``billedResourceUtilization`` (AWS rounds it up to
    the one-minute minimum per worker; "Billing", EMR Serverless user guide), on an application
    of ``architecture``."""
    billed = job_run.get("billedResourceUtilization") or {}
    return Usage(
        substrate=NAME,
        job_seconds=float(job_run.get("totalExecutionDurationSeconds") or wall_seconds),
        vcpu_hours=float(billed.get("vCPUHour", 0.0)),
        memory_gb_hours=float(billed.get("memoryGBHour", 0.0)),
        storage_gb_hours=float(billed.get("storageGBHour", 0.0)),
        billed=bool(billed),
        architecture=architecture,
    )
