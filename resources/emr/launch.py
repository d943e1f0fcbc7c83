"""What both EMR launchers share: the launch itself (staging, client token, Pipes message
reader, deadline, the substrate's Pipes client run as dagster-aws runs it), the one poll
helper, log forwarding and cleanup."""

from __future__ import annotations

import contextlib
import time
from abc import abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import boto3
import dagster as dg
from dagster_aws.pipes import PipesS3MessageReader

from emr_platform import prefixes
from emr_platform.launcher import Site, SparkJob, SparkJobError, SparkLauncher, SparkResult, Usage, log_tail, with_usage
from emr_platform.settings import SettingsModel
from resources.emr import artifacts

MESSAGE_POLL_SECONDS = 1.0  # between reads of the job's next message chunk in S3
T = TypeVar("T")


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
    sessions): bounded only by ``until`` (``time.monotonic()`` seconds; no boto waiter's
    30-minute cap). Past it, raises ``timeout(last result)``, or returns the last result when
    ``timeout`` is None. ``waiting(result)`` is told of each result that is not done (e.g. to
    report progress); ``poll`` may raise to stop early.
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
    staged: artifacts.StagedArtifacts
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
    the driver's last log lines; ``emr_platform.discovery.DiscoveryError`` when what infra
    should have built is missing.
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
        staged = artifacts.stage(s3, self.site.lake.artifacts_root, job.team, job.script)
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
