"""What both EMR launchers share: the launch itself (staging, client token, Pipes message
reader, deadline, the substrate's Pipes client run as dagster-aws runs it), the one poll
helper, the Spark properties and tags of every request, reading logs once the job has ended,
the SSM parameters infra publishes, and cleanup.

- **Staging**, content-addressed: keys carry the SHA-256 of what they hold, so an unchanged
  file is found by ``head_object`` and never uploaded again, and a changed one never
  overwrites what a running job reads: ``<artifacts root>/<team>/scripts/<sha256>/<script>``,
  and ``<artifacts root>/<team>/deps/<sha256>.zip`` (the ``jobkit`` and ``dagster_pipes``
  packages, handed to ``spark-submit --py-files``).
- **Logs**: EMR writes driver logs to S3 (gzip) and, for EMR Serverless with CloudWatch
  logging, to a log stream too. Reading them once after the end, instead of dagster-aws's log
  readers that poll a target until it exists, costs nothing when the logs are there and at
  most ``wait_seconds`` when they are not.
- **Discovery**: launchers find what ``infra/`` built by its name (:mod:`emr_platform.naming`),
  else by the SSM parameter infra publishes (:func:`team_parameter`); no pasted IDs.
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import hashlib
import io
import time
import zipfile
from abc import abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

import boto3
import dagster as dg
import dagster_pipes
from botocore.exceptions import ClientError
from dagster_aws.pipes import PipesS3MessageReader

from emr_platform import naming, tags
from emr_platform.lake import prefixes
from emr_platform.launcher import JOBKIT, Site, SparkJob, SparkJobError, SparkLauncher, SparkResult, Usage, log_tail, with_usage
from emr_platform.naming import StageLike
from emr_platform.lake.prefixes import S3Prefix
from emr_platform.settings import JobSize, SettingsModel

MESSAGE_POLL_SECONDS = 1.0  # between reads of the job's next message chunk in S3
LOG_POLL_SECONDS = 0.5  # between reads of a log that is not there yet
ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # fixed, so the same files always make the same zip bytes
T = TypeVar("T")


# --- the launch ---------------------------------------------------------------------------------


class FixedPrefixS3MessageReader(PipesS3MessageReader):
    """dagster-aws's S3 message reader with the key prefix fixed by the launch's client token
    (instead of a random one), so a retried launch that adopts a running job reads its messages."""

    def __init__(self, *, bucket: str, key_prefix: str, client: Any, interval: float = MESSAGE_POLL_SECONDS):
        super().__init__(bucket=bucket, client=client, interval=interval)
        self.key_prefix = key_prefix

    @contextlib.contextmanager
    def get_params(self) -> Iterator[dict[str, Any]]:
        with super().get_params() as defaults:
            yield {**defaults, "key_prefix": self.key_prefix}


@dataclass(frozen=True)
class Deadline:
    """The moment (``time.monotonic()`` seconds) after which a job of ``job.timeout_seconds`` is stopped."""

    job: SparkJob
    substrate: str
    at: float

    @classmethod
    def for_job(cls, job: SparkJob, substrate: str) -> Deadline:
        return cls(job, substrate, time.monotonic() + job.timeout_seconds)

    def expired(self, what: str) -> SparkJobError:
        """The error of ``what`` still running once the job's ``timeout_seconds`` have passed."""
        return SparkJobError(self.substrate, self.job, f"{what} did not end within {self.job.timeout_seconds} s")


def poll_until(
    poll: Callable[[], T],
    done: Callable[[T], bool],
    *,
    interval: float,
    until: float,
    timeout: Callable[[T], BaseException] | None = None,
    waiting: Callable[[T], None] = lambda result: None,
) -> T:
    """``poll()`` every ``interval`` seconds until ``done(result)``; returns that result.

    The one wait of the EMR launches and sessions (job runs, steps, clusters, applications,
    sessions, logs not yet written): bounded only by ``until`` (``time.monotonic()`` seconds;
    no boto waiter's 30-minute cap). Past it, raises ``timeout(last result)``, or returns the
    last result when ``timeout`` is None. ``waiting(result)`` is told of each result that is
    not done (e.g. to report progress); ``poll`` may raise to stop early.
    """
    while True:
        result = poll()
        if done(result):
            return result
        if time.monotonic() > until:
            if timeout is None:
                return result
            raise timeout(result)
        waiting(result)
        time.sleep(interval)


@dataclass(frozen=True)
class Submission:
    """What a launch prepared before submitting: AWS session, staged files, client token,
    the Pipes message reader and the deadline."""

    session: boto3.session.Session
    s3: Any
    staged: StagedArtifacts
    client_token: str
    message_reader: FixedPrefixS3MessageReader
    deadline: Deadline


class EmrPipesClient(Protocol):
    """What :meth:`EmrLauncher.launch` needs of a substrate's Pipes client: dagster-aws's ``run``
    (each launcher overrides its hooks, never ``run``) and the launch's usage, known once the
    client has extracted its metadata."""

    usage: Usage | None

    def run(self, *, context: Any, extras: dict[str, Any] | None = None, **params: Any) -> dg.PipesClientCompletedInvocation: ...


@dataclass(frozen=True)
class EmrLauncher(SparkLauncher):
    """Base of the EMR launchers: the substrate's ``settings`` section and the stage's ``site``.

    ``aws``, when given, is the boto3 session every client of a launch comes from (tests pass
    one); None: a new session per launch, in the stage's region, from boto3's credential chain.

    Raises :class:`emr_platform.launcher.SparkJobError` when the job fails, times out or is
    interrupted, after stopping what the launch started (job run, cluster or step), with
    the driver's last log lines; :class:`DiscoveryError` when what infra should have built is
    missing.
    """

    settings: SettingsModel
    site: Site
    aws: boto3.session.Session | None = None

    @classmethod
    def create(cls, settings: SettingsModel, site: Site) -> EmrLauncher:
        return cls(settings=settings, site=site)

    def launch(self, context: dg.AssetExecutionContext, job: SparkJob) -> Sequence[SparkResult]:
        session = self.aws or boto3.session.Session(region_name=self.site.platform.region)
        s3 = session.client("s3")
        deadline = Deadline.for_job(job, self.substrate)
        staged = stage(s3, self.site.lake.artifacts_root, job.team, job.script)
        if staged.uploaded:
            context.log.info(f"staged {', '.join(staged.uploaded)}")
        client_token = job.client_token(context.run.run_id, context.retry_number)
        messages = prefixes.pipes_messages(self.site.lake, job.team, client_token)
        reader = FixedPrefixS3MessageReader(bucket=messages.bucket, key_prefix=messages.key, client=s3)
        submission = Submission(session, s3, staged, client_token, reader, deadline)
        client, params = self.pipes_client(context, job, submission)
        invocation = client.run(context=context, extras=job.extras, **params)
        # The client put usage and cost on each materialization with its metadata; a launch for
        # an op (an ad-hoc run) has none, and with_usage adds one to carry them.
        return with_usage(invocation.get_results(), client.usage)

    @abstractmethod
    def pipes_client(
        self, context: dg.AssetExecutionContext, job: SparkJob, submission: Submission
    ) -> tuple[EmrPipesClient, dict[str, Any]]:
        """The substrate's Pipes client for this launch and the request its ``run`` takes
        (``{"start_job_run_params": ...}`` or ``{"run_job_flow_params": ...}``)."""


@contextlib.contextmanager
def cleanup(context: dg.AssetExecutionContext, what: str) -> Iterator[None]:
    """Stop what a launch started without hiding the error that made it stop: a failed
    ``what`` is logged (the orphan sensor stops what is left), the original error propagates."""
    try:
        yield
    except Exception as exc:
        context.log.error(f"could not {what}: {exc!r}; the orphan sensor will stop it once this run has ended")


def forward_logs(context: dg.AssetExecutionContext, found: dict[str, str]) -> None:
    """Each driver log found, line by line, into the asset's Dagster log."""
    for name, text in found.items():
        for line in text.splitlines():
            context.log.info(f"[{name}] {line}")


def failure_tail(found: dict[str, str]) -> str:
    """The tail of the most telling log: the driver's stderr, else the step's."""
    for name in ("driver stderr", "step stderr", "driver stdout", "step stdout"):
        if found.get(name):
            return log_tail(found[name].splitlines())
    return ""


# --- staging -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StagedArtifacts:
    """``s3://`` URIs of a staged script and its dependency zip; ``uploaded`` lists the keys written now."""

    script_uri: str
    py_files_uri: str
    uploaded: tuple[str, ...]


@functools.cache
def dependency_zip() -> bytes:
    """The zip of the ``jobkit`` package and the installed ``dagster_pipes`` package (byte-for-byte reproducible)."""
    files = {}
    for package in (JOBKIT, Path(dagster_pipes.__file__).parent):
        for path in sorted(package.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                files[f"{package.name}/{path.relative_to(package).as_posix()}"] = path
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, path in sorted(files.items()):
            info = zipfile.ZipInfo(name, ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, path.read_bytes())
    return buffer.getvalue()


def stage(s3: Any, artifacts_root: str, team: str, script: Path) -> StagedArtifacts:
    """Upload ``script`` and :func:`dependency_zip` under the team's artifacts prefix unless present.

    Raises ``botocore.exceptions.ClientError`` when S3 refuses (e.g. no write access).
    """
    own = S3Prefix.from_uri(artifacts_root).child(team)
    script_body = script.read_bytes()
    deps = dependency_zip()
    script_at = own.child("scripts", _sha256(script_body), script.name)
    deps_at = own.child("deps", _sha256(deps) + ".zip")
    pairs = ((script_at, script_body), (deps_at, deps))
    uploaded = tuple(at.key for at, body in pairs if _put_if_absent(s3, at.bucket, at.key, body))
    return StagedArtifacts(script_at.uri, deps_at.uri, uploaded)


def _sha256(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def _put_if_absent(s3: Any, bucket: str, key: str, body: bytes) -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=key)
        return False
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in ("404", "NoSuchKey", "NotFound"):
            raise
    s3.put_object(Bucket=bucket, Key=key, Body=body)
    return True


# --- what every request carries ------------------------------------------------------------------


def spark_confs(size: JobSize) -> dict[str, str]:
    """Spark properties of a job size: driver/executor cores and memory (GiB), executor counts."""
    confs = {
        "spark.driver.cores": str(size.driver_cores),
        "spark.driver.memory": f"{size.driver_memory_gb}g",
        "spark.executor.cores": str(size.executor_cores),
        "spark.executor.memory": f"{size.executor_memory_gb}g",
        "spark.dynamicAllocation.enabled": str(size.dynamic_allocation).lower(),
    }
    if size.dynamic_allocation:
        confs["spark.dynamicAllocation.minExecutors"] = str(size.min_executors)
        confs["spark.dynamicAllocation.maxExecutors"] = str(size.max_executors)
    else:
        confs["spark.executor.instances"] = str(size.max_executors)
    return confs


def conf_args(confs: Mapping[str, str]) -> list[str]:
    """``["--conf", "k=v", ...]`` in key order."""
    return [arg for key in sorted(confs) for arg in ("--conf", f"{key}={confs[key]}")]


def job_tags(job: SparkJob, client_token: str) -> dict[str, str]:
    """Tags of every cluster and job run of ``job``: team, asset, substrate, stage, run id and the token."""
    return {**job.tags, tags.CLIENT_TOKEN: client_token, tags.MANAGED_BY[0]: tags.MANAGED_BY[1]}


def log_uri(site: Site, team: str, substrate: str) -> str:
    """``s3://<logs bucket>/<logs key prefix>/<team>/<substrate>/``: where EMR writes the team's logs."""
    return prefixes.substrate_logs(site.lake, team, substrate).uri + "/"


# --- logs, read once the job has ended ----------------------------------------------------------


def read_s3_text(s3: Any, uri: str) -> str | None:
    """The text of an S3 object (gunzipped when the key ends in ``.gz``), or None if it does not exist."""
    location = S3Prefix.from_uri(uri)
    bucket, key = location.bucket, location.key
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as exc:
        if exc.response["Error"]["Code"] in ("NoSuchKey", "404", "NoSuchBucket"):
            return None
        raise
    return (gzip.decompress(body) if key.endswith(".gz") else body).decode("utf-8", errors="replace")


def read_cloudwatch_text(logs: Any, group: str, stream: str) -> str | None:
    """All events of a CloudWatch log stream as text, or None if the stream does not exist."""
    lines: list[str] = []
    kwargs: dict[str, Any] = {"logGroupName": group, "logStreamName": stream, "startFromHead": True}
    try:
        while True:
            page = logs.get_log_events(**kwargs)
            lines += [event["message"] for event in page["events"]]
            if not page["events"] or page.get("nextForwardToken") in (None, kwargs.get("nextToken")):
                break
            kwargs["nextToken"] = page["nextForwardToken"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ResourceNotFoundException":
            return None
        raise
    return "\n".join(lines)


def wait_for(read: Callable[[], str | None], wait_seconds: float) -> str | None:
    """``read()`` until it returns text or ``wait_seconds`` have passed; None if it never did."""
    return poll_until(
        read, lambda text: text is not None, interval=LOG_POLL_SECONDS, until=time.monotonic() + wait_seconds
    )


# --- what infra built ----------------------------------------------------------------------------


class DiscoveryError(LookupError):
    """What infra should have created cannot be found; the message names what was looked for."""


def client_of(service: str, config: StageLike, client: Any | None) -> Any:
    """``client``, else a new boto3 client of ``service`` in the stage's region (boto3's credential chain)."""
    return client if client is not None else boto3.client(service, region_name=config.platform.region)


def team_parameter(config: StageLike, team: str, key: str, ssm: Any | None = None) -> str:
    """Value of the SSM parameter infra published for ``team`` under ``key`` (one of ``naming.TEAM_PARAMETERS``).

    Raises ``DiscoveryError`` if the parameter does not exist.
    """
    name = naming.ssm_parameter(config, "teams", team, key)
    try:
        return client_of("ssm", config, ssm).get_parameter(Name=name)["Parameter"]["Value"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ParameterNotFound":
            raise DiscoveryError(f"SSM parameter {name} not found (has `pulumi up --stack {config.stage}` run?)") from None
        raise
