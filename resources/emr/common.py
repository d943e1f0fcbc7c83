"""What both EMR launchers share: config, staging, the client token, the Pipes message reader."""

from __future__ import annotations

import contextlib
import time
from abc import abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import boto3
import dagster as dg
from dagster_aws.pipes import PipesS3MessageReader

from emr_platform.config import PlatformConfig
from emr_platform.launcher import SparkJob, SparkJobError, SparkLauncher, SparkResult, Usage, log_tail, with_usage
from resources.emr import artifacts, params

MESSAGE_POLL_SECONDS = 1.0  # between reads of the job's next message chunk in S3
TERMINAL_STEP_STATES = {"COMPLETED", "CANCELLED", "FAILED", "INTERRUPTED"}


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


@dataclass
class Launch:
    """One launch of one job: its config, AWS session, staged files and deadline."""

    context: dg.AssetExecutionContext
    job: SparkJob
    config: PlatformConfig
    session: boto3.session.Session
    s3: Any
    staged: artifacts.StagedArtifacts
    client_token: str
    deadline: float  # time.monotonic() value after which the job is stopped

    def message_reader(self) -> FixedPrefixS3MessageReader:
        bucket, prefix = params.messages_prefix(self.config, self.job.team, self.client_token)
        return FixedPrefixS3MessageReader(bucket=bucket, key_prefix=prefix, client=self.s3)

    def check_deadline(self, substrate: str, what: str) -> None:
        """Raises :class:`SparkJobError` once the job's ``timeout_seconds`` have passed."""
        if time.monotonic() > self.deadline:
            raise SparkJobError(substrate, self.job, f"{what} did not end within {self.job.timeout_seconds} s")


class EmrLauncher(SparkLauncher):
    """Base of the EMR launchers; ``config_json`` is the stage's :class:`PlatformConfig` as JSON.

    Raises :class:`emr_platform.launcher.SparkJobError` when the job fails, times out or is
    interrupted, after stopping what the launch started (job run, cluster or step), with
    the driver's last log lines; ``emr_platform.discovery.DiscoveryError`` when what infra
    should have built is missing.
    """

    config_json: str

    @classmethod
    def from_config(cls, config: PlatformConfig) -> EmrLauncher:
        return cls(config_json=config.model_dump_json())

    def launch(self, context: dg.AssetExecutionContext, job: SparkJob) -> Sequence[SparkResult]:
        config = PlatformConfig.model_validate_json(self.config_json)
        session = boto3.session.Session(region_name=config.platform.region)
        s3 = session.client("s3")
        started = time.monotonic()
        staged = artifacts.stage(s3, config.lake.artifacts_root, job.team, job.script)
        if staged.uploaded:
            context.log.info(f"staged {', '.join(staged.uploaded)}")
        launch = Launch(
            context=context,
            job=job,
            config=config,
            session=session,
            s3=s3,
            staged=staged,
            client_token=job.client_token(context.run.run_id, context.retry_number),
            deadline=started + job.timeout_seconds,
        )
        invocation, usage = self.run(launch)
        return with_usage(invocation.get_results(), usage)

    @abstractmethod
    def run(self, launch: Launch) -> tuple[dg.PipesClientCompletedInvocation, Usage]:
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
