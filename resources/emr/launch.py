"""What both EMR launchers share: the launch itself (staging, client token, Pipes message
reader, deadline), the one poll-until-terminal loop, log forwarding and cleanup."""

from __future__ import annotations

import contextlib
import time
from abc import abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

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

    def check(self, what: str) -> None:
        """Raises :class:`SparkJobError` once the job's ``timeout_seconds`` have passed."""
        if time.monotonic() > self.at:
            raise SparkJobError(self.substrate, self.job, f"{what} did not end within {self.job.timeout_seconds} s")


def poll_until(poll: Callable[[], T], done: Callable[[T], bool], deadline: Deadline, interval: float, what: str) -> T:
    """``poll()`` every ``interval`` seconds until ``done(result)``; returns that result.

    Bounded only by ``deadline`` (no boto waiter's 30-minute cap): raises
    :class:`SparkJobError` once it has passed. ``poll`` may raise to stop early.
    """
    while True:
        result = poll()
        if done(result):
            return result
        deadline.check(what)
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


@dataclass(frozen=True)
class EmrLauncher(SparkLauncher):
    """Base of the EMR launchers: the substrate's ``settings`` section and the stage's ``site``.

    Raises :class:`emr_platform.launcher.SparkJobError` when the job fails, times out or is
    interrupted, after stopping what the launch started (job run, cluster or step), with
    the driver's last log lines; ``emr_platform.discovery.DiscoveryError`` when what infra
    should have built is missing.
    """

    settings: SettingsModel
    site: Site

    @classmethod
    def create(cls, settings: SettingsModel, site: Site) -> EmrLauncher:
        return cls(settings=settings, site=site)

    def launch(self, context: dg.AssetExecutionContext, job: SparkJob) -> Sequence[SparkResult]:
        session = boto3.session.Session(region_name=self.site.platform.region)
        s3 = session.client("s3")
        deadline = Deadline.for_job(job, self.substrate)
        staged = artifacts.stage(s3, self.site.lake.artifacts_root, job.team, job.script)
        if staged.uploaded:
            context.log.info(f"staged {', '.join(staged.uploaded)}")
        client_token = job.client_token(context.run.run_id, context.retry_number)
        messages = prefixes.pipes_messages(self.site.lake, job.team, client_token)
        reader = FixedPrefixS3MessageReader(bucket=messages.bucket, key_prefix=messages.key, client=s3)
        submission = Submission(session, s3, staged, client_token, reader, deadline)
        invocation, usage = self.run(context, job, submission)
        return with_usage(invocation.get_results(), usage)

    @abstractmethod
    def run(
        self, context: dg.AssetExecutionContext, job: SparkJob, submission: Submission
    ) -> tuple[dg.PipesClientCompletedInvocation, Usage]:
        """Run the job through the substrate's Pipes client; its results and usage."""


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
