"""The one interface every Spark substrate implements.

An asset built by :mod:`assets.lib.factory` describes its run as a :class:`SparkJob`
and hands it to the :class:`SparkLauncher` resource of its substrate. Implementations:
``resources.local_spark.LocalSparkLauncher`` (local mode) and the EMR launchers. All of
them run the same job script through Dagster Pipes and return what the script reported.
"""

from __future__ import annotations

import hashlib
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import dagster as dg

from emr_platform import pricing
from emr_platform.partitioning import PartitionScope
from emr_platform.pricing import Usage
from emr_platform.settings import JobSize, LakeSettings, PlatformSettings, SettingsModel
from emr_platform.substrates.descriptor import Orphan

# The job-side kit, a package of its own (pyspark and dagster-pipes only): on a job's PYTHONPATH
# locally, zipped with --py-files on EMR.
JOBKIT = Path(__file__).resolve().parents[1] / "jobkit"
# The job script of every SQL asset: runs the SQL of the Pipes extras through jobkit.
SQL_JOB = JOBKIT / "sql_job.py"

SparkResult = dg.MaterializeResult | dg.AssetCheckResult

LOG_TAIL_LINES = 40
MAX_LINE_CHARS = 2000
JVM_FRAME = re.compile(r"^\s+at [\w$.<>]+\(.*\)$|^\s*\.\.\. \d+ more$")


def is_tail_line(line: str) -> bool:
    """False for JVM stack frames, which would push the error itself out of a log tail."""
    return not JVM_FRAME.match(line)


def log_tail(lines: Iterable[str], count: int = LOG_TAIL_LINES) -> str:
    """The last ``count`` lines of a driver log without JVM stack frames, each cut to ``MAX_LINE_CHARS``."""
    kept = [line.rstrip()[:MAX_LINE_CHARS] for line in lines if is_tail_line(line.rstrip())]
    return "\n".join(kept[-count:])


@dataclass(frozen=True)
class SparkJob:
    """One run of a job script for one asset.

    ``inputs`` maps input names to ``{"uri": ..., "format": "parquet" | "csv"}``;
    ``output`` is the URI the script writes parquet to; ``checks`` are
    :meth:`emr_platform.spec.CheckSpec.payload` dicts; ``sql`` is the query of a SQL asset
    (``script`` is then :data:`SQL_JOB`); ``tags`` (team, asset, substrate,
    stage, run id) go on every AWS resource the launch creates. ``partition`` is the key or
    range the run covers (None: unpartitioned); an input may carry a ``filter`` (the upstream
    partitions the run reads, see :meth:`PartitionScope.filter`); ``args`` are the script's
    command-line arguments (ad-hoc runs; assets take ``params`` instead).
    """

    team: str
    asset_key: dg.AssetKey
    script: Path
    inputs: dict[str, dict[str, str]]
    output: str
    size_name: str
    size: JobSize
    checks: list[dict[str, Any]]
    params: dict[str, Any]
    timeout_seconds: int
    tags: dict[str, str] = field(default_factory=dict)
    partition: PartitionScope | None = None
    args: tuple[str, ...] = ()
    sql: str | None = None

    @property
    def name(self) -> str:
        """``team/domain/table``: the asset key as a path, used in job names and tags."""
        return self.asset_key.to_user_string()

    @property
    def extras(self) -> dict[str, Any]:
        """What the job script receives through Pipes extras; ``partition`` is
        :meth:`PartitionScope.extras` (Dagster's Pipes context has no range for a single-run
        backfill, so every launcher passes it here)."""
        return {
            "asset_key": self.name,
            "inputs": self.inputs,
            "output": self.output,
            "checks": self.checks,
            "params": self.params,
            "partition": self.partition.extras() if self.partition else None,
            **({"sql": self.sql} if self.sql is not None else {}),
        }

    def client_token(self, run_id: str, attempt: int = 0) -> str:
        """An idempotency token (64 hex chars) from run id, asset key, partition key or range and
        retry attempt: a retry of one day never adopts the job run of another."""
        partition = f":{self.partition.label}" if self.partition else ""
        return hashlib.sha256(f"{run_id}:{self.name}{partition}:{attempt}".encode()).hexdigest()[:64]


@dataclass(frozen=True)
class Site:
    """What every launcher of a stage shares, beyond its own settings section: the platform
    (name, AWS region), the stage, the lake roots and the Spot discount (a fraction)."""

    platform: PlatformSettings
    stage: str
    lake: LakeSettings
    spot_discount: float = pricing.DEFAULT_SPOT_DISCOUNT


class SparkLauncher(ABC):
    """Runs a :class:`SparkJob` on one substrate through Dagster Pipes; a Dagster resource.

    Built by the launcher layer (``resources``) from the substrate's own settings section and
    the stage's :class:`Site` (:meth:`create`), once per code location load. ``launch``
    returns the script's materialization (with row count, schema, output URI and the
    launch's usage and cost as metadata) followed by its asset check results. It raises
    :class:`SparkJobError` when the job fails, after making sure nothing it started is left
    running.
    """

    substrate: ClassVar[str]

    @classmethod
    @abstractmethod
    def create(cls, settings: SettingsModel, site: Site) -> SparkLauncher:
        """The launcher of a stage from its substrate's settings section and the stage's site."""

    @abstractmethod
    def launch(self, context: dg.AssetExecutionContext, job: SparkJob) -> Sequence[SparkResult]: ...

    @classmethod
    def find_orphans(cls, ended: Callable[[str], bool], stage: str, region: str) -> list[Orphan]:
        """What launches on this substrate left running in ``region``, tagged with ``stage``,
        whose Dagster run has ``ended`` (a run id -> bool); none for a substrate outside AWS."""
        return []

    @classmethod
    def stop_orphan(cls, orphan: Orphan, region: str) -> dict[str, Any]:
        """Stop ``orphan`` (one of the substrate's ``orphan_kinds``); the AWS response."""
        raise ValueError(f"{cls.substrate} leaves no orphans of kind {orphan.kind!r}")


def with_usage(results: Sequence[SparkResult], usage: Usage) -> list[SparkResult]:
    """``results`` with the launch's usage and its price (``cost_usd``) added to the materialization's metadata."""
    return with_metadata(results, usage.metadata())


def with_metadata(results: Sequence[SparkResult], metadata: dict[str, Any]) -> list[SparkResult]:
    """``results`` with ``metadata`` added to each materialization (e.g. usage and cost).

    A launch for an op, which materializes no asset (an ad-hoc run), gets one materialization
    without an asset key carrying ``metadata``, so its usage and cost are not lost.
    """
    merged: list[SparkResult] = []
    for result in results:
        if isinstance(result, dg.MaterializeResult):
            result = result._replace(metadata={**(result.metadata or {}), **metadata})
        merged.append(result)
    if not any(isinstance(result, dg.MaterializeResult) for result in merged):
        merged.append(dg.MaterializeResult(metadata=metadata))
    return merged


class SparkJobError(dg.Failure):
    """A Spark job failed, timed out or was interrupted; carries the driver's last log lines.

    ``substrate`` and ``job`` name where it ran; ``log_tail`` is the end of the driver's
    output (stderr), also shown in the Dagster UI as metadata; ``links`` (e.g. ``spark_ui``)
    are URLs to look at the job with, shown as metadata.
    """

    def __init__(self, substrate: str, job: SparkJob, reason: str, log_tail: str = "", links: dict[str, str] | None = None):
        self.substrate, self.job, self.reason, self.log_tail = substrate, job, reason, log_tail
        tail = f"\n--- last driver log lines ---\n{log_tail}" if log_tail else ""
        super().__init__(
            description=f"{job.name} on {substrate}: {reason}{tail}",
            metadata={
                "substrate": substrate,
                "reason": reason,
                "driver_log_tail": dg.MetadataValue.md(f"```\n{log_tail}\n```"),
                **{name: dg.MetadataValue.url(url) for name, url in (links or {}).items()},
            },
        )
