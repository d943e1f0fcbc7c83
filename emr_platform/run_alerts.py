"""Run failure alerts: what failed, where, why, and where to look, delivered to the team's channel.

:class:`RunFailureAlert` is built from a failed run and its step failures (the failed assets, the
substrate and EMR's reason and driver log tail that :class:`emr_platform.launcher.SparkJobError`
carries as metadata, the partition or range from the run's tags) and delivered to the channel of
config.yml's ``alerts``: ``log`` appends it to ``<Dagster home>/alerts/<team>.jsonl``; ``sns``
publishes it to the team's topic (``naming.alert_topic``, built by ``infra/components/alerts.py``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import boto3

from emr_platform import naming
from emr_platform.config import PlatformConfig

PARTITION_TAG = "dagster/partition"
RANGE_TAGS = ("dagster/asset_partition_range_start", "dagster/asset_partition_range_end")
MAX_TAIL_CHARS = 3000  # an SNS message is at most 256 KB; a tail this long stays readable in e-mail


@dataclass(frozen=True)
class StepFailure:
    """One failed step: its asset (``team/domain/table``, or the step key), substrate, reason and log tail."""

    asset: str
    substrate: str
    reason: str
    log_tail: str


@dataclass(frozen=True)
class RunFailureAlert:
    """A failed run of ``team``'s location: ``failures`` per failed asset; ``partition`` is the key,
    the range ``first...last``, or None; ``url`` links the run in the Dagster UI."""

    team: str
    stage: str
    run_id: str
    job: str
    partition: str | None
    failures: tuple[StepFailure, ...]
    url: str

    @property
    def subject(self) -> str:
        """At most 100 characters (SNS's limit for a subject)."""
        assets = ", ".join(f.asset for f in self.failures) or self.job
        where = f" [{self.partition}]" if self.partition else ""
        return f"{self.stage}: {assets}{where} failed"[:100]

    def message(self) -> str:
        lines = [f"Run {self.run_id} of {self.team}'s {self.job} failed in stage {self.stage}.", f"Run: {self.url}"]
        if self.partition:
            lines.append(f"Partition: {self.partition}")
        for failure in self.failures:
            lines += [f"Asset {failure.asset} on {failure.substrate}: {failure.reason}"]
            if failure.log_tail:
                lines += ["--- last driver log lines ---", failure.log_tail]
        return "\n".join(lines)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def run_partition(tags: Mapping[str, str]) -> str | None:
    """The partition key of a run's tags, or its range as ``first...last``, or None."""
    if PARTITION_TAG in tags:
        return tags[PARTITION_TAG]
    if all(tag in tags for tag in RANGE_TAGS):
        return f"{tags[RANGE_TAGS[0]]}...{tags[RANGE_TAGS[1]]}"
    return None


def step_failure(asset: str, metadata: Mapping[str, Any], error_message: str) -> StepFailure:
    """A :class:`StepFailure` from a failure's metadata (``substrate``, ``reason``, ``driver_log_tail``
    as ``SparkJobError`` sets them; values may be Dagster metadata values) or its error message."""

    def text(key: str) -> str:
        value = metadata.get(key)
        value = getattr(value, "value", getattr(value, "md_str", value))
        return "" if value is None else str(value)

    tail = text("driver_log_tail").strip().removeprefix("```").removesuffix("```").strip()
    reason = text("reason") or (error_message.strip().splitlines() or ["unknown error"])[0]
    return StepFailure(asset, text("substrate") or "unknown", reason, tail[-MAX_TAIL_CHARS:])


def build_alert(
    config: PlatformConfig, team: str, run_id: str, job: str, tags: Mapping[str, str], failures: Iterable[StepFailure]
) -> RunFailureAlert:
    """The alert of a failed run, linking ``<alerts.ui_url>/runs/<run id>``."""
    url = f"{config.alerts.ui_url.rstrip('/')}/runs/{run_id}"
    return RunFailureAlert(team, config.stage, run_id, job, run_partition(tags), tuple(failures), url)


def deliver(alert: RunFailureAlert, config: PlatformConfig, dagster_home: Path | None) -> str:
    """Send ``alert`` to the team's channel; returns where it went (a file path or an SNS message id).

    ``log``: a JSON line appended to ``<dagster_home>/alerts/<team>.jsonl``; ``sns``: published to
    the team's topic in the stage's account (credentials from boto3's chain, at run time).
    """
    if config.alerts.channel == "log":
        folder = Path(dagster_home or ".") / "alerts"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{alert.team}.jsonl"
        with path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(alert.as_json()) + "\n")
        return str(path)
    region = config.platform.region
    account = boto3.client("sts", region_name=region).get_caller_identity()["Account"]
    arn = f"arn:aws:sns:{region}:{account}:{naming.alert_topic(config, alert.team)}"
    response = boto3.client("sns", region_name=region).publish(
        TopicArn=arn,
        Subject=alert.subject,
        Message=alert.message(),
        MessageAttributes={
            "team": {"DataType": "String", "StringValue": alert.team},
            "run_id": {"DataType": "String", "StringValue": alert.run_id},
        },
    )
    return response["MessageId"]
