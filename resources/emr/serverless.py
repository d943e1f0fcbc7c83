"""``EmrServerlessLauncher``: a job run on the team's EMR Serverless application, through
dagster-aws's ``PipesEMRServerlessClient`` (its ``run`` kept, its hooks overridden; the
defects of dagster-aws this fixes, each with its regression test: docs/emr.md). Also here,
as the rest of what this platform asks of EMR Serverless: finding the team's application and
execution role, the ``start_job_run`` and ``start_session`` requests, the driver's logs, the
job runs and sessions the orphan sensor stops, and a job run's Spark UI.

Driver logs (AWS docs, "Storing logs" for EMR Serverless): in S3 at
``<logUri>/applications/<app>/jobs/<job run>/SPARK_DRIVER/{stdout,stderr}.gz``; in CloudWatch,
group from the job run, stream ``/applications/<app>/jobs/<job run>/SPARK_DRIVER/{stdout,stderr}``.
"""

from __future__ import annotations

import copy
import math
import shlex
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import boto3
import dagster as dg
from botocore.exceptions import ClientError
from dagster_aws.pipes import PipesEMRServerlessClient

from emr_platform import naming, tags
from emr_platform.launcher import Site, SparkJob, SparkJobError
from emr_platform.naming import StageLike
from emr_platform.pricing import Usage
from emr_platform.settings import JobSize
from emr_platform.substrates.descriptor import Orphan
from emr_platform.substrates.emr_serverless import (
    ACTIVE_JOB_RUN_STATES,
    ACTIVE_SESSION_STATES,
    FAILED_JOB_RUN_STATES,
    NAME,
    STARTABLE_APPLICATION_STATES,
    USABLE_APPLICATION_STATES,
    EmrServerlessSettings,
    session_orphan_reason,
    supports_sessions,
)
from resources.emr.launch import (
    Deadline,
    DiscoveryError,
    EmrLauncher,
    Submission,
    cleanup,
    client_of,
    conf_args,
    failure_tail,
    forward_logs,
    job_tags,
    log_uri,
    poll_until,
    read_cloudwatch_text,
    read_s3_text,
    spark_confs,
    team_parameter,
    wait_for,
)

# GetDashboardForJobRun's URL is valid for one hour ("GetDashboardForJobRun", EMR Serverless
# API reference, read 2026-11-26): refreshed a little before it expires.
DASHBOARD_REFRESH_SECONDS = 55 * 60
# What may still be cancelled: active, and not already being cancelled.
STOPPABLE_JOB_RUN_STATES = tuple(state for state in ACTIVE_JOB_RUN_STATES if state != "CANCELLING")
SPARK_UI_SEARCH_RUNS = 50  # an ad-hoc run's job run is among the latest of its application


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
            text = serverless_driver_log(
                self.s3, self.logs_client, job_run, stream, wait_seconds, application=self._application(job_run)
            )
            if text is not None:
                found[f"driver {stream}"] = text
                wait_seconds = 0  # written together: once one is there, the other is too or never
        return found

    def _find_job_run(self, application_id: str, client_token: str) -> str | None:
        """The active job run of ``application_id`` tagged with ``client_token``, if any."""
        for job_run in job_runs(self.client, application_id, STOPPABLE_JOB_RUN_STATES):
            if job_run.get("tags", {}).get(tags.CLIENT_TOKEN) == client_token:
                return job_run["id"]
        return None

    def _cancel_if_active(self, context, application_id: str, job_run_id: str) -> None:
        state = self.client.get_job_run(applicationId=application_id, jobRunId=job_run_id)["jobRun"]["state"]
        if state in STOPPABLE_JOB_RUN_STATES:
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
        application_id = serverless_application_id(self.site, job.team, emr_serverless=emr)
        start_if_stopped(emr, application_id, emr.get_application(applicationId=application_id)["application"], context.log.info)
        request = serverless_start_params(
            self.settings,
            self.site,
            job,
            application_id=application_id,
            execution_role_arn=execution_role_arn(self.site, job.team, iam=session.client("iam")),
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

    @classmethod
    def find_orphans(cls, ended: Callable[[str], bool], stage: str, region: str) -> list[Orphan]:
        """Active job runs of ``stage`` tagged by the platform whose Dagster run has ``ended``, and the
        platform's Spark Connect sessions of ``stage`` that :func:`session_orphan_reason` condemns."""
        found = []
        client = boto3.client("emr-serverless", region_name=region)
        for page in client.get_paginator("list_applications").paginate():
            for application in page["applications"]:
                if supports_sessions(application.get("releaseLabel") or "emr-0.0.0"):
                    found += _session_orphans(client, application["id"], stage)
                for job_run in job_runs(client, application["id"], STOPPABLE_JOB_RUN_STATES):
                    run_tags = job_run.get("tags", {})
                    if tags.platform_run(run_tags, stage) and ended(run_tags[tags.RUN_ID]):
                        found.append(
                            Orphan("job-run", job_run["id"], run_tags[tags.TEAM], run_tags[tags.RUN_ID], application["id"])
                        )
        return found

    @classmethod
    def stop_orphan(cls, orphan: Orphan, region: str) -> dict[str, Any]:
        """Cancel the orphaned job run, or terminate the orphaned session."""
        client = boto3.client("emr-serverless", region_name=region)
        if orphan.kind == "session":
            return client.terminate_session(applicationId=orphan.parent_id, sessionId=orphan.id)
        return client.cancel_job_run(applicationId=orphan.parent_id, jobRunId=orphan.id)


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


def start_if_stopped(client: Any, application_id: str, application: dict[str, Any], say: Callable[[str], None]) -> None:
    """Start application ``application_id`` (``application``: its ``GetApplication`` description)
    if its state is one ``StartApplication`` accepts, saying so; a job run queues until it has
    started, a session opener waits for it."""
    if application["state"] in STARTABLE_APPLICATION_STATES:
        say(f"starting EMR Serverless application {application.get('name', application_id)} ({application['state']})")
        client.start_application(applicationId=application_id)


def serverless_application_id(
    config: StageLike, team: str, emr_serverless: Any | None = None, ssm: Any | None = None
) -> str:
    """ID of the team's EMR Serverless application, found by its name, else by its SSM parameter.

    Raises ``DiscoveryError`` if neither exists.
    """
    name = naming.serverless_application(config, team)
    client = client_of("emr-serverless", config, emr_serverless)
    for page in client.get_paginator("list_applications").paginate():
        for application in page["applications"]:
            if application["name"] == name and application["state"] in USABLE_APPLICATION_STATES:
                return application["id"]
    try:
        return team_parameter(config, team, "application-id", ssm)
    except DiscoveryError as exc:
        raise DiscoveryError(f"no usable EMR Serverless application named {name}, and {exc}") from None


def execution_role_arn(config: StageLike, team: str, iam: Any | None = None, ssm: Any | None = None) -> str:
    """ARN of the IAM role the team's EMR Serverless job runs assume (``iam get-role`` by name, else SSM)."""
    name = naming.serverless_execution_role(config, team)
    try:
        return client_of("iam", config, iam).get_role(RoleName=name)["Role"]["Arn"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "NoSuchEntity":
            raise
    try:
        return team_parameter(config, team, "execution-role-arn", ssm)
    except DiscoveryError as exc:
        raise DiscoveryError(f"no IAM role named {name}, and {exc}") from None


# start_job_run refuses executionTimeoutMinutes below 5
MIN_SERVERLESS_TIMEOUT_MINUTES = 5


def serverless_start_params(
    settings: EmrServerlessSettings,
    site: Site,
    job: SparkJob,
    *,
    application_id: str,
    execution_role_arn: str,
    script_uri: str,
    py_files_uri: str,
    client_token: str,
) -> dict[str, Any]:
    """``start_job_run`` request of ``job`` on the team's application."""
    submit = ["--py-files", py_files_uri, *conf_args(spark_confs(job.size))]
    monitoring: dict[str, Any] = {
        "s3MonitoringConfiguration": {"logUri": log_uri(site, job.team, NAME)},
    }
    if settings.cloudwatch_logging:
        monitoring["cloudWatchLoggingConfiguration"] = {
            "enabled": True,
            "logGroupName": naming.log_group(site, job.team),
        }
    return {
        "applicationId": application_id,
        "clientToken": client_token,
        "executionRoleArn": execution_role_arn,
        "name": job.name,
        "jobDriver": {"sparkSubmit": {"entryPoint": script_uri, "sparkSubmitParameters": shlex.join(submit)}
                      | ({"entryPointArguments": list(job.args)} if job.args else {})},
        "configurationOverrides": {"monitoringConfiguration": monitoring},
        "tags": job_tags(job, client_token),
        "executionTimeoutMinutes": max(MIN_SERVERLESS_TIMEOUT_MINUTES, math.ceil(job.timeout_seconds / 60)),
    }


def session_start_params(
    settings: EmrServerlessSettings,
    site: Site,
    team: str,
    size: JobSize,
    *,
    user: str,
    application_id: str,
    execution_role_arn: str,
    client_token: str,
    heartbeat: float,
) -> dict[str, Any]:
    """``start_session`` request of a Spark Connect session of ``team`` opened by ``user``.

    The session gets the job size's Spark properties (``spark-defaults``), ends after
    ``settings.session_idle_timeout_minutes`` without a query, and is tagged team, user, stage,
    substrate, ``managed-by`` and the owner's first heartbeat (epoch seconds; see
    :data:`emr_platform.tags.HEARTBEAT`).
    """
    session_tags = {
        tags.TEAM: team,
        tags.USER: user,
        tags.STAGE: site.stage,
        tags.SUBSTRATE: NAME,
        tags.MANAGED_BY[0]: tags.MANAGED_BY[1],
        tags.HEARTBEAT: str(int(heartbeat)),
    }
    return {
        "applicationId": application_id,
        "clientToken": client_token,
        "executionRoleArn": execution_role_arn,
        "name": f"{team} {user}"[:256],
        "idleTimeoutMinutes": settings.session_idle_timeout_minutes,
        "configurationOverrides": {
            "runtimeConfiguration": [{"classification": "spark-defaults", "properties": spark_confs(size)}]
        },
        "tags": session_tags,
    }


def monitoring_configuration(application: dict[str, Any], job_run: dict[str, Any]) -> dict[str, Any]:
    """Where a job run's logs go: the application's ``monitoringConfiguration`` (set by infra)
    overridden, section by section and key by key, by the job run's ``configurationOverrides``,
    as EMR Serverless merges them ("Logging", EMR Serverless user guide, read 2026-11-26)."""
    merged: dict[str, Any] = {}
    base = application.get("monitoringConfiguration") or {}
    override = (job_run.get("configurationOverrides") or {}).get("monitoringConfiguration") or {}
    for section in set(base) | set(override):
        merged[section] = {**(base.get(section) or {}), **(override.get(section) or {})}
    return merged


def serverless_driver_log(
    s3: Any, logs: Any, job_run: dict[str, Any], stream: str, wait_seconds: float, application: dict[str, Any] | None = None
) -> str | None:
    """``stream`` (``stdout`` or ``stderr``) of a job run's Spark driver, from S3 else CloudWatch;
    ``application`` is the job run's application as ``get_application`` describes it."""
    app, job = job_run["applicationId"], job_run["jobRunId"]
    monitoring = monitoring_configuration(application or {}, job_run)
    log_uri = (monitoring.get("s3MonitoringConfiguration") or {}).get("logUri")
    cloudwatch = monitoring.get("cloudWatchLoggingConfiguration") or {}
    path = f"applications/{app}/jobs/{job}/SPARK_DRIVER/{stream}"

    def read() -> str | None:
        text = read_s3_text(s3, f"{log_uri.rstrip('/')}/{path}.gz") if log_uri else None
        if text is None and cloudwatch.get("enabled"):
            group = cloudwatch.get("logGroupName") or "/aws/emr-serverless"
            text = read_cloudwatch_text(logs, group, cloudwatch.get("logStreamNamePrefix", "") + "/" + path)
        return text

    return wait_for(read, wait_seconds)


def _session_orphans(client: Any, application_id: str, stage: str) -> list[Orphan]:
    found = []
    states = list(ACTIVE_SESSION_STATES)
    now = time.time()
    for page in client.get_paginator("list_sessions").paginate(applicationId=application_id, states=states):
        for summary in page["sessions"]:
            session = client.get_session(applicationId=application_id, sessionId=summary["sessionId"])["session"]
            session_tags = session.get("tags", {})
            reason = tags.platform_session(session_tags, stage) and session_orphan_reason(session, now)
            if reason:
                found.append(
                    Orphan("session", summary["sessionId"], session_tags[tags.TEAM], "-", application_id, reason=reason)
                )
    return found


def spark_ui_url(job: SparkJob, client_token: str, region: str) -> str | None:
    """The Spark UI of an EMR Serverless job run of ``job`` (found by its client token among the
    latest job runs of each application), else None."""
    if job.tags[tags.SUBSTRATE] != NAME:
        return None
    client = boto3.client("emr-serverless", region_name=region)
    for page in client.get_paginator("list_applications").paginate():
        for application in page["applications"]:
            for job_run in job_runs(client, application["id"], limit=SPARK_UI_SEARCH_RUNS):
                if job_run.get("tags", {}).get(tags.CLIENT_TOKEN) == client_token:
                    return client.get_dashboard_for_job_run(applicationId=application["id"], jobRunId=job_run["id"])["url"]
    return None


def job_runs(client: Any, application_id: str, states: Sequence[str] = (), limit: int | None = None) -> Iterator[dict[str, Any]]:
    """The job runs of ``application_id`` (in ``states``, if given; the latest ``limit``, if given),
    each as ``get_job_run`` describes it (``list_job_runs`` gives no tags) plus its ``id``."""
    kwargs: dict[str, Any] = {"applicationId": application_id} | ({"states": list(states)} if states else {})
    if limit is not None:
        pages = [client.list_job_runs(**kwargs, maxResults=limit)]
    else:
        pages = client.get_paginator("list_job_runs").paginate(**kwargs)
    for page in pages:
        for summary in page["jobRuns"]:
            job_run = client.get_job_run(applicationId=application_id, jobRunId=summary["id"])["jobRun"]
            yield {**job_run, "id": summary["id"]}
