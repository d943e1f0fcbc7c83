"""Plays the EMR side of the launchers' tests, against moto's in-process backends.

moto (run here as a ``ThreadedMotoServer``, real HTTP) stores clusters, steps and job runs
but never runs them: clusters stay WAITING, steps RUNNING, job runs SUCCESS at once. The
:class:`EmrSimulator` makes them run for real: a background thread finds each new step or
job run, downloads the staged script and dependency zip from S3, runs the script with
local Spark (a Spark Connect server) in the environment Pipes put in the request
(``spark.yarn.appMasterEnv.*`` / ``spark.emr-serverless.driverEnv.*``) and the credentials of
the role EMR runs it under (the job run's execution role, the cluster's instance profile role),
assumed in moto's STS: the driver's boto3 and its Spark's S3A (``s3://``, on moto's S3) sign with
those, never with the test's keys. It writes the
driver's output where EMR writes logs (S3, and a CloudWatch stream for EMR Serverless),
and moves steps, clusters and job runs through their states, with failure details and
billed usage as AWS reports them.

What moto lacks and EMR does, patched in while the simulator runs: job runs start
SUBMITTED; ``start_job_run`` honours ``clientToken`` (same token, same job run);
``CancelSteps``; a failed step's ``FailureDetails``.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import gzip
import hashlib
import os
import shlex
import shutil
import signal
import sys
import tempfile
import threading
import time
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from moto.core.responses import ActionResult
from moto.core.utils import utcnow
from moto.emr import models as emr_models
from moto.emr import responses as emr_responses
from moto.emrserverless import models as serverless_models
from moto.emrserverless import responses as serverless_responses
from moto.emrserverless import urls as serverless_urls

from resources.forkserver import ForkedJob, forkserver_for

# moto routes no URL to GetDashboardForJobRun; its server reads these paths when it first serves
# EMR Serverless, so the route is added when this module is imported (before any test runs).
serverless_urls.url_paths.setdefault(
    "{0}/applications/(?P<applicationId>[^/]+)/jobruns/(?P<jobRunId>[^/]+)/dashboard$",
    serverless_responses.EMRServerlessResponse.dispatch,
)

from tests.emr import sessions as serverless_sessions

ACCOUNT = "123456789012"
REGION = "us-east-1"
TICK_SECONDS = 0.05
ACTIVE_STEP_STATES = {"PENDING", "RUNNING", "CANCEL_PENDING"}
ACTIVE_JOB_RUN_STATES = {"SUBMITTED", "PENDING", "SCHEDULED", "RUNNING", "QUEUED", "CANCELLING"}
ACTIVE_CLUSTER_STATES = {"STARTING", "BOOTSTRAPPING", "RUNNING", "WAITING"}
# The IAM user whose keys EMR itself signs with here (the simulator's ``credentials``, when moto
# enforces IAM): the roles' trust policies name it, as AWS's name the EMR services.
EMR_SERVICE_USER = "emr-service"


@dataclass
class Execution:
    """One script run by the simulator; ``seconds`` is the script's own wall time. Its driver runs
    as ``role_arn`` (a job run's execution role) or the role of ``instance_profile`` (a step's
    cluster's)."""

    kind: str  # "step" or "job run"
    id: str
    env: dict[str, str]
    role_arn: str | None = None
    instance_profile: str | None = None
    returncode: int | None = None
    seconds: float = 0.0
    proc: ForkedJob | None = None
    cancelled: threading.Event = field(default_factory=threading.Event)


class EmrSimulator:
    """Runs what the launchers submit to moto. ``hold_seconds`` keeps each job RUNNING that long
    before its script starts (a long job); ``container_logs`` False writes step logs only;
    ``serverless_s3_logs`` False leaves EMR Serverless driver logs in CloudWatch only."""

    def __init__(
        self,
        endpoint: str,
        spark_remote: str,
        *,
        hold_seconds: float = 0.0,
        container_logs: bool = True,
        serverless_s3_logs: bool = True,
        session_start_seconds: float = 0.0,
        session_failure: str | None = None,
        credentials: dict[str, str] | None = None,
    ):
        self.endpoint, self.spark_remote = endpoint, spark_remote
        self.hold_seconds, self.container_logs, self.serverless_s3_logs = hold_seconds, container_logs, serverless_s3_logs
        # Spark Connect sessions (tests/emr/sessions.py): seconds to start, or the FAILED details
        self.session_start_seconds, self.session_failure = session_start_seconds, session_failure
        self.executions: dict[str, Execution] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="emr-simulator")
        self._restore: list[tuple[Any, str, Any]] = []
        self.errors: list[BaseException] = []
        # EMR's own keys (``credentials``: the test's admin keys, when moto enforces IAM)
        keys = credentials or {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
        session = boto3.session.Session(**keys, region_name=REGION)
        self.s3 = session.client("s3", endpoint_url=endpoint)
        self.logs = session.client("logs", endpoint_url=endpoint)
        self.iam = session.client("iam", endpoint_url=endpoint)
        self.sts = session.client("sts", endpoint_url=endpoint)

    # --- lifecycle -------------------------------------------------------------------------

    def __enter__(self) -> EmrSimulator:
        self._patch(serverless_models, "JOB_STATUS", "SUBMITTED")
        self._patch(serverless_models.EMRServerlessBackend, "start_job_run", _idempotent_start_job_run)
        self._patch(emr_responses.ElasticMapReduceResponse, "cancel_steps", _cancel_steps, missing_ok=True)
        self._patch(emr_models.Step, "status", property(_step_status))
        self._patch(serverless_responses.EMRServerlessResponse, "create_application", _create_application)
        self._patch(
            serverless_responses.EMRServerlessResponse, "get_dashboard_for_job_run", _dashboard, missing_ok=True
        )
        self._patch(serverless_models.Application, "monitoring_configuration", None, missing_ok=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(10)
        for execution in self.executions.values():
            _kill(execution)
        for owner, name, value in reversed(self._restore):
            if value is _MISSING:
                delattr(owner, name)
            else:
                setattr(owner, name, value)

    def _patch(self, owner: Any, name: str, value: Any, missing_ok: bool = False) -> None:
        self._restore.append((owner, name, owner.__dict__.get(name, _MISSING) if missing_ok else getattr(owner, name)))
        setattr(owner, name, value)

    # --- what is active (for the tests' "nothing left running" checks) -----------------------

    def active(self) -> list[str]:
        """Clusters, steps and job runs not in a final state, as ``"<kind> <id> <state>"``."""
        found = []
        for cluster in _clusters():
            if cluster.state in ACTIVE_CLUSTER_STATES and not cluster.keep_job_flow_alive_when_no_steps:
                found.append(f"cluster {cluster.id} {cluster.state}")
            found += [f"step {s.id} {s.state}" for s in cluster.steps if s.state in ACTIVE_STEP_STATES]
        for runs in _serverless().job_runs.values():
            found += [f"job run {r.id} {r.state}" for r in runs if r.state in ACTIVE_JOB_RUN_STATES]
        found += [f"session {s['sessionId']} {s['state']}" for s in serverless_sessions.sessions() if s["state"] in serverless_sessions.ACTIVE]
        return found

    # --- the loop ----------------------------------------------------------------------------

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._tick()
            except Exception as exc:  # surfaced by the tests through .errors
                self.errors.append(exc)
            time.sleep(TICK_SECONDS)

    def _tick(self) -> None:
        for cluster in _clusters():
            self._tick_cluster(cluster)
        for runs in list(_serverless().job_runs.values()):
            for run in list(runs):
                self._tick_job_run(run)
        serverless_sessions.tick(self)

    def _tick_cluster(self, cluster: Any) -> None:
        ended = cluster.state not in ACTIVE_CLUSTER_STATES
        for step in cluster.steps:
            execution = self.executions.get(step.id)
            if step.state == "CANCEL_PENDING" or (ended and step.state in ACTIVE_STEP_STATES):
                if execution:
                    execution.cancelled.set()
                    _kill(execution)
                step.state, step.end_date_time = "CANCELLED", utcnow()
            elif step.state in ("PENDING", "RUNNING") and execution is None:
                running = sum(1 for s in cluster.steps if s.id in self.executions and s.state == "RUNNING")
                if running < (cluster.step_concurrency_level or 1):
                    self._start_step(cluster, step)
        if (
            not ended
            and not cluster.keep_job_flow_alive_when_no_steps
            and cluster.steps
            and all(s.state not in ACTIVE_STEP_STATES for s in cluster.steps)
        ):
            cluster.terminate()

    def _tick_job_run(self, run: Any) -> None:
        execution = self.executions.get(run.id)
        if run.state in ("CANCELLED", "CANCELLING") and execution:
            execution.cancelled.set()
            _kill(execution)
            run.state = "CANCELLED"
        elif run.state == "SUBMITTED" and execution is None:
            self._start_job_run(run)

    def _spawn(self, target, job: Any, *args) -> None:
        """Run ``target(job, *args)`` in a thread; if it raises, ``job`` (a step or a job run) fails."""

        def guarded() -> None:
            try:
                target(job, *args)
            except BaseException as exc:  # a harness bug must fail the test, not hang it
                self.errors.append(exc)
                job.state = "FAILED"
                raise

        threading.Thread(target=guarded, daemon=True).start()

    # --- EMR on EC2 steps --------------------------------------------------------------------

    def _start_step(self, cluster: Any, step: Any) -> None:
        args = list(step.args)
        prefix = "spark.yarn.appMasterEnv."
        env = {k.removeprefix(prefix): v for k, v in _confs(args).items() if k.startswith(prefix)}
        execution = Execution("step", step.id, env, instance_profile=cluster.role)
        self.executions[step.id] = execution
        step.state, step.start_date_time = "RUNNING", utcnow()
        self._spawn(lambda step, *rest: self._run_step(cluster, step, *rest), step, args, execution)

    def _run_step(self, cluster: Any, step: Any, args: list[str], execution: Execution) -> None:
        application = f"application_{int(time.time() * 1000)}_{len(self.executions):04d}"
        script_at = _script_index(args)
        stdout, stderr = self._execute(
            execution, script_uri=args[script_at], py_files=_option(args, "--py-files"), args=args[script_at + 1 :]
        )
        if execution.cancelled.is_set():
            return
        base = f"{cluster.log_uri.rstrip('/')}/{cluster.id}"
        status = "SUCCEEDED" if execution.returncode == 0 else "FAILED"
        submit_log = f"INFO Client: Submitted application {application}\nINFO Client: final status: {status}\n"
        if execution.returncode != 0:
            submit_log += (
                'Exception in thread "main" org.apache.spark.SparkException: '
                f"Application {application} finished with failed status\n"
            )
        self._put(f"{base}/steps/{step.id}/stderr.gz", submit_log)
        self._put(f"{base}/steps/{step.id}/stdout.gz", "")
        if self.container_logs:
            container = f"{base}/containers/{application}/container_{application.removeprefix('application_')}_01_000001"
            self._put(f"{container}/stdout.gz", stdout)
            self._put(f"{container}/stderr.gz", stderr)
        step.end_date_time = utcnow()
        if execution.returncode == 0:
            step.state = "COMPLETED"
        else:
            step.failure_details = {
                "Reason": "Unknown Error.",
                "Message": f"Application {application} finished with failed status",
                "LogFile": f"{base}/steps/{step.id}/stderr.gz",
            }
            step.state = "FAILED"
            if step.action_on_failure in ("TERMINATE_CLUSTER", "TERMINATE_JOB_FLOW"):
                cluster.terminate()
                cluster.state = "TERMINATED_WITH_ERRORS"

    # --- EMR Serverless job runs -------------------------------------------------------------

    def _start_job_run(self, run: Any) -> None:
        submit = shlex.split(run.job_driver["sparkSubmit"].get("sparkSubmitParameters", ""))
        prefix = "spark.emr-serverless.driverEnv."
        env = {k.removeprefix(prefix): v for k, v in _confs(submit).items() if k.startswith(prefix)}
        execution = Execution("job run", run.id, env, role_arn=run.execution_role_arn)
        self.executions[run.id] = execution
        run.state = "RUNNING"
        self._spawn(self._run_job_run, run, submit, execution)

    def _run_job_run(self, run: Any, submit: list[str], execution: Execution) -> None:
        started = time.monotonic()
        stdout, stderr = self._execute(
            execution,
            script_uri=run.job_driver["sparkSubmit"]["entryPoint"],
            py_files=_option(submit, "--py-files"),
            args=list(run.job_driver["sparkSubmit"].get("entryPointArguments") or []),
        )
        if execution.cancelled.is_set():
            return
        monitoring = _merged_monitoring(_serverless().applications[run.application_id], run)
        path = f"applications/{run.application_id}/jobs/{run.id}/SPARK_DRIVER"
        log_uri = monitoring.get("s3MonitoringConfiguration", {}).get("logUri")
        if log_uri and self.serverless_s3_logs:
            self._put(f"{log_uri.rstrip('/')}/{path}/stdout.gz", stdout)
            self._put(f"{log_uri.rstrip('/')}/{path}/stderr.gz", stderr)
        cloudwatch = monitoring.get("cloudWatchLoggingConfiguration", {})
        if cloudwatch.get("enabled"):
            group = cloudwatch.get("logGroupName", "/aws/emr-serverless")
            for name, text in (("stdout", stdout), ("stderr", stderr)):
                self._put_events(group, f"{cloudwatch.get('logStreamNamePrefix', '')}/{path}/{name}", text)
        seconds = time.monotonic() - started
        confs = _confs(submit)
        vcpu = int(confs.get("spark.driver.cores", 1)) + int(confs.get("spark.executor.cores", 1))
        memory = _gb(confs.get("spark.driver.memory", "2g")) + _gb(confs.get("spark.executor.memory", "2g"))
        hours = max(seconds, 60.0) / 3600  # a minute's minimum per worker
        run.total_execution_duration_seconds = int(round(seconds))
        run.billed_resource_utilization = {"vCPUHour": vcpu * hours, "memoryGBHour": memory * hours, "storageGBHour": 0.0}
        run.updated_at = utcnow()
        if execution.returncode == 0:
            run.state = "SUCCESS"
        else:
            run.state_details = "Job failed, please check complete logs in configured logging destination. ExitCode: 1."
            run.state = "FAILED"

    # --- running a script --------------------------------------------------------------------

    def _execute(
        self, execution: Execution, script_uri: str, py_files: str | None, args: list[str] = ()
    ) -> tuple[str, str]:
        """Run the staged script like a Spark driver would; its (stdout, stderr)."""
        if self.hold_seconds and execution.cancelled.wait(self.hold_seconds):
            return "", ""
        with tempfile.TemporaryDirectory(prefix=f"emr-{execution.id}-") as folder:  # the driver's working dir, removed after
            return self._run_script(execution, Path(folder), script_uri, py_files, args)

    def _run_script(
        self, execution: Execution, work: Path, script_uri: str, py_files: str | None, args: list[str]
    ) -> tuple[str, str]:
        script = work / script_uri.rsplit("/", 1)[1]
        script.write_bytes(self._get(script_uri))
        paths = []
        if py_files:
            # One file per content, kept for this process's life (every simulator of a test
            # session): the same dependencies give the same PYTHONPATH, so the same forkserver.
            data = self._get(py_files)
            deps = _deps_dir() / f"{hashlib.sha256(data).hexdigest()[:24]}.zip"
            if not deps.exists():
                partial = deps.with_suffix(f".{threading.get_ident()}")
                partial.write_bytes(data)
                partial.replace(deps)
            assert zipfile.is_zipfile(deps)
            paths.append(str(deps))
        credentials = self._assume(execution)
        env = {
            **os.environ,
            **execution.env,
            "PYTHONPATH": os.pathsep.join(paths),
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": credentials["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
            "AWS_SESSION_TOKEN": credentials["SessionToken"],
            "AWS_DEFAULT_REGION": REGION,
        }
        started = time.monotonic()
        with self._spark_session(credentials) as remote:
            env["SPARK_REMOTE"] = remote
            # The driver: the script as `python <script>` in its own session, forked from a process
            # that has imported pyspark (as local launches are, resources/forkserver.py).
            execution.proc = forkserver_for(env).start([sys.executable, str(script), *args], env, cwd=work, stderr=True)
            stdout, stderr = execution.proc.communicate()
        execution.returncode = execution.proc.returncode
        execution.seconds = time.monotonic() - started
        return stdout, stderr

    def _instance_profile_role(self, name: str) -> str:
        """The ARN of the role in instance profile ``name`` (a cluster's ``JobFlowRole``)."""
        roles = self.iam.get_instance_profile(InstanceProfileName=name)["InstanceProfile"]["Roles"]
        if not roles:
            raise AssertionError(f"instance profile {name} holds no role: EMR could not start the cluster's instances")
        return roles[0]["Arn"]

    def _assume(self, execution: Execution) -> dict[str, str]:
        """Temporary credentials of ``execution``'s role, from moto's STS (``AssumeRole``)."""
        role_arn = execution.role_arn or self._instance_profile_role(execution.instance_profile)
        assumed = self.sts.assume_role(RoleArn=role_arn, RoleSessionName=f"emr-{execution.id}"[:64])
        return assumed["Credentials"]

    @contextlib.contextmanager
    def _spark_session(self, credentials: dict[str, str]) -> Iterator[str]:
        """A Spark Connect session of the shared server, set up for one driver as spark-submit
        sets up EMR's: ``s3://`` through S3A on moto's S3 (path-style, plain HTTP), signed with the
        role's ``credentials``. Yields its URL (``session_id`` in it), for the driver's pyspark to
        join; released after. The server's FileSystem cache is off in this session: it is keyed
        by bucket alone, and drivers of other roles share the server."""
        from pyspark.sql.connect.client import SparkConnectClient
        from pyspark.sql.connect.conf import RuntimeConf

        remote = f"{self.spark_remote.rstrip('/')}/;session_id={uuid.uuid4()}"
        client = SparkConnectClient(remote)
        conf = RuntimeConf(client)
        for key, value in self.s3a_confs(
            credentials["AccessKeyId"], credentials["SecretAccessKey"], credentials["SessionToken"]
        ).items():
            conf.set(key, value)
        try:
            yield remote
        finally:
            with contextlib.suppress(Exception):  # the driver may have released it already
                client.release_session()
            client.close()

    def s3a_confs(self, access_key: str, secret_key: str, session_token: str | None = None) -> dict[str, str]:
        """The session confs that point a Spark session's ``s3://`` (S3A) at moto's S3 with these keys."""
        provider = "TemporaryAWSCredentialsProvider" if session_token else "SimpleAWSCredentialsProvider"
        return {
            "fs.s3a.endpoint": self.endpoint,
            "fs.s3a.endpoint.region": REGION,
            "fs.s3a.path.style.access": "true",
            "fs.s3a.connection.ssl.enabled": "false",
            "fs.s3a.aws.credentials.provider": f"org.apache.hadoop.fs.s3a.{provider}",
            "fs.s3a.access.key": access_key,
            "fs.s3a.secret.key": secret_key,
            **({"fs.s3a.session.token": session_token} if session_token else {}),
            # One DeleteObject per key: moto judges a bulk DeleteObjects against the bucket's ARN
            # (AWS judges each key's), so a role allowed to delete under its prefix only is refused.
            "fs.s3a.multiobjectdelete.enable": "false",
            # Fewer requests per write, as EMR's own writes have none of these: its S3-optimized
            # committer renames nothing; FileOutputCommitter v2 renames once (v1: twice), and
            # create() skips its probes of the parent folders.
            "mapreduce.fileoutputcommitter.algorithm.version": "2",
            "fs.s3a.create.performance": "true",
            "fs.s3.impl.disable.cache": "true",
            "fs.s3a.impl.disable.cache": "true",
        }

    def _get(self, uri: str) -> bytes:
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        return self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()

    def _put(self, uri: str, text: str) -> None:
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        self.s3.put_object(Bucket=bucket, Key=key, Body=gzip.compress(text.encode()))

    def _put_events(self, group: str, stream: str, text: str) -> None:
        self.logs.create_log_stream(logGroupName=group, logStreamName=stream)
        now = int(time.time() * 1000)
        events = [{"timestamp": now, "message": line or " "} for line in text.splitlines()]
        if not events:
            return
        self.logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)


_MISSING = object()


def _clusters() -> list[Any]:
    """moto's clusters, but for one whose ``RunJobFlow`` is still being answered: moto registers a
    cluster in its backend while constructing it, before its state is set (``moto/emr/models.py``,
    ``Cluster.__init__``), and this simulator reads the backend from another thread."""
    return [cluster for cluster in list(_emr().clusters.values()) if getattr(cluster, "state", None) is not None]


def _emr():
    return emr_models.emr_backends[ACCOUNT][REGION]


def _serverless():
    return serverless_models.emrserverless_backends[ACCOUNT][REGION]


def _confs(args: list[str]) -> dict[str, str]:
    return dict(args[i + 1].split("=", 1) for i, arg in enumerate(args[:-1]) if arg == "--conf")


def _script_index(args: list[str]) -> int:
    """Index of the script in a ``spark-submit`` step's args: the first argument that is not an option."""
    i = 1  # args[0] is spark-submit
    while args[i].startswith("--"):
        i += 2
    return i


@functools.cache
def _deps_dir() -> Path:
    """Where simulated drivers' dependency zips are kept, one per content; removed at exit."""
    folder = Path(tempfile.mkdtemp(prefix="emr-simulator-deps-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def _option(args: list[str], name: str) -> str | None:
    return args[args.index(name) + 1] if name in args else None


def _gb(memory: str) -> float:
    return float(memory.rstrip("gG"))


def _kill(execution: Execution) -> None:
    if execution.proc and execution.proc.poll() is None:
        try:
            os.killpg(execution.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


# --- moto patches: what EMR does and moto does not ---------------------------------------------

_ORIGINAL_START_JOB_RUN = serverless_models.EMRServerlessBackend.start_job_run


def _idempotent_start_job_run(self, application_id: str, client_token: str, *args, **kwargs):
    for run in self.job_runs.get(application_id, []):
        if client_token and run.client_token == client_token:
            return run
    return _ORIGINAL_START_JOB_RUN(self, application_id, client_token, *args, **kwargs)


_ORIGINAL_CREATE_APPLICATION = serverless_responses.EMRServerlessResponse.create_application


def _create_application(self) -> ActionResult:
    """moto's CreateApplication, keeping the ``monitoringConfiguration`` moto drops (infra sets it)."""
    result = _ORIGINAL_CREATE_APPLICATION(self)
    backend = self.emrserverless_backend
    application = next(a for a in reversed(list(backend.applications.values())) if a.name == self._get_param("name"))
    application.monitoring_configuration = self._get_param("monitoringConfiguration")
    return result


def _merged_monitoring(application: Any, run: Any) -> dict[str, Any]:
    """Where EMR Serverless writes a job run's logs: the application's monitoring configuration,
    each section overridden key by key by the job run's."""
    base = getattr(application, "monitoring_configuration", None) or {}
    override = (run.configuration_overrides or {}).get("monitoringConfiguration", {})
    return {section: {**base.get(section, {}), **override.get(section, {})} for section in set(base) | set(override)}


def _dashboard(self) -> ActionResult:
    """GetDashboardForJobRun, which moto lacks: a Spark UI URL naming the job run."""
    job_run_id = self.path.rstrip("/").split("/")[-2]
    return ActionResult({"url": f"https://p-{job_run_id}.emrappui-prod.{REGION}.amazonaws.com/shs/history/{job_run_id}/jobs/"})


def _cancel_steps(self) -> ActionResult:
    cluster = self.backend.describe_cluster(self._get_param("ClusterId"))
    ids = set(self._get_param("StepIds", []))
    info = []
    for step in cluster.steps:
        if step.id in ids:
            if step.state in ("PENDING", "RUNNING"):
                step.state = "CANCEL_PENDING"
            info.append({"StepId": step.id, "Status": "SUBMITTED", "Reason": ""})
    return ActionResult({"CancelStepsInfoList": info})


def _step_status(self) -> dict[str, Any]:
    status = {
        "State": self.state,
        "StateChangeReason": {"Message": getattr(self, "last_state_change_reason", None)},
        "Timeline": {
            "CreationDateTime": self.creation_date_time,
            "EndDateTime": self.end_date_time,
            "StartDateTime": self.start_date_time,
        },
    }
    if getattr(self, "failure_details", None):
        status["FailureDetails"] = self.failure_details
    return status
