"""The declarative spec of a Spark asset and of its asset checks.

A team writes one :class:`SparkAssetSpec` per asset; :mod:`emr_platform.locations.factory` turns it
into a Dagster asset. Checks are data, not code: the job script evaluates them in Spark
on whichever substrate runs it (see ``assets/jobkit.py``), so they hold on EMR as locally.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg

from emr_platform import lake, tags
from emr_platform.config import PlatformConfig, SubstrateName
from emr_platform.launcher import SQL_JOB, SparkJob
from emr_platform.settings import JobSize


@dataclass(frozen=True)
class CheckSpec:
    """One asset check evaluated by the job against the data it wrote.

    ``kind`` is one of ``non_empty``, ``not_null``, ``unique``, ``between``,
    ``references`` or ``metric_at_least``; the other fields are its arguments.
    """

    name: str
    kind: str
    description: str
    columns: tuple[str, ...] = ()
    low: float | None = None
    high: float | None = None
    input: str | None = None
    metric: str | None = None

    def payload(self) -> dict[str, Any]:
        """The JSON the job script receives through Pipes extras."""
        return {k: v for k, v in self.__dict__.items() if v not in (None, ())} | {"columns": list(self.columns)}


def non_empty() -> CheckSpec:
    return CheckSpec("non_empty", "non_empty", "The table has at least one row.")


def not_null(*columns: str) -> CheckSpec:
    return CheckSpec(f"no_null_{'_'.join(columns)}", "not_null", f"No null in {', '.join(columns)}.", columns)


def unique(*columns: str) -> CheckSpec:
    return CheckSpec(f"unique_{'_'.join(columns)}", "unique", f"({', '.join(columns)}) identifies a row.", columns)


def between(column: str, low: float | None, high: float | None) -> CheckSpec:
    return CheckSpec(
        f"{column}_in_range", "between", f"Every non-null {column} lies in [{low}, {high}].", (column,), low, high
    )


def references(column: str, input: str, ref_column: str | None = None) -> CheckSpec:
    """Every non-null ``column`` value occurs in column ``ref_column`` of input ``input``."""
    ref = ref_column or column
    return CheckSpec(
        f"{column}_references_{input}",
        "references",
        f"Every {column} exists in {input}.{ref}.",
        (column, ref),
        input=input,
    )


def metric_at_least(metric: str, low: float) -> CheckSpec:
    """A metric the job reports (e.g. ``auc``) is strictly greater than ``low``."""
    return CheckSpec(f"{metric}_above_{low:g}".replace(".", "_"), "metric_at_least", f"{metric} > {low}.", low=low, metric=metric)


@dataclass(frozen=True)
class Source:
    """A file of a named external dataset declared under ``sources`` in config.yml."""

    dataset: str
    path: str
    format: str = "csv"


@dataclass(frozen=True)
class SparkAssetSpec:
    """A Spark asset ``[team, domain, table]``; the team comes from the code location.

    Exactly one of ``script`` and ``sql``: ``script`` is a PySpark job script, a path relative to
    the team's package (or absolute); ``sql`` is a Spark SQL query whose result is the table, with
    every input readable as a temporary view of its name (run by the platform's ``assets/sql_job.py``).
    ``inputs`` maps the names the job reads to upstream asset keys (``"team/domain/table"``, any
    team) or sources. ``job_size`` and ``substrate`` default to the team's; ``timeout_seconds`` to
    ``execution.timeout_seconds``. Raises ``ValueError`` unless exactly one of ``script`` and
    ``sql`` is given.
    """

    domain: str
    table: str
    description: str
    script: str | None = field(default=None, kw_only=True)
    sql: str | None = field(default=None, kw_only=True)
    inputs: dict[str, str | Source] = field(default_factory=dict)
    checks: tuple[CheckSpec, ...] = (non_empty(),)
    params: dict[str, Any] = field(default_factory=dict)
    job_size: str | None = None
    substrate: SubstrateName | None = None
    timeout_seconds: int | None = None

    def __post_init__(self):
        if (self.script is None) == (self.sql is None):
            raise ValueError(f"{self.domain}/{self.table}: give exactly one of script and sql")

    def upstream_keys(self) -> dict[str, dg.AssetKey]:
        return {
            name: dg.AssetKey(ref.split("/")) for name, ref in self.inputs.items() if isinstance(ref, str)
        }


@dataclass(frozen=True)
class ResolvedSparkAsset:
    """A :class:`SparkAssetSpec` resolved once against a stage's config: the one value both the
    asset definition and each launch's :class:`~emr_platform.launcher.SparkJob` are made from.

    ``substrate`` is, in order: the stage's ``execution.asset_substrates["team/domain/table"]``,
    its ``execution.force_substrate``, the spec's, the team's. ``script`` is absolute;
    ``output`` the asset's lake URI; ``timeout_seconds`` the spec's, else the stage's default.
    """

    team: str
    spec: SparkAssetSpec
    key: dg.AssetKey
    stage: str
    substrate: str
    size_name: str
    size: JobSize
    script: Path
    output: str
    timeout_seconds: int
    owners: tuple[str, ...]

    @property
    def tags(self) -> dict[str, str]:
        """Tags of the asset definition (and, with the asset and run, of every launch)."""
        return {tags.TEAM: self.team, tags.SUBSTRATE: self.substrate, tags.STAGE: self.stage}

    def job(self, config: PlatformConfig, run_id: str) -> SparkJob:
        """The :class:`SparkJob` of one run. Resolving input URIs may unpack package data into the
        local lake (``pkg://`` sources), so it happens at run time, never at definitions load."""
        inputs = {}
        for name, ref in self.spec.inputs.items():
            if isinstance(ref, Source):
                inputs[name] = {"uri": lake.source_uri(config, ref.dataset, ref.path), "format": ref.format}
            else:
                inputs[name] = {"uri": lake.asset_uri(config, dg.AssetKey(ref.split("/"))), "format": "parquet"}
        return SparkJob(
            team=self.team,
            asset_key=self.key,
            script=self.script,
            inputs=inputs,
            output=self.output,
            size_name=self.size_name,
            size=self.size,
            checks=[check.payload() for check in self.spec.checks],
            params=self.spec.params,
            sql=self.spec.sql,
            timeout_seconds=self.timeout_seconds,
            tags={**self.tags, tags.ASSET: self.key.to_user_string(), tags.RUN_ID: run_id},
        )


def resolve(config: PlatformConfig, team: str, spec: SparkAssetSpec, base_dir: Path) -> ResolvedSparkAsset:
    """``spec`` of ``team`` (job scripts relative to ``base_dir``) resolved against ``config``.

    A SQL asset's script is the platform's :data:`~emr_platform.launcher.SQL_JOB`. Raises
    ``ConfigError`` for an undeclared team and ``FileNotFoundError`` naming the asset when its
    job script does not exist.
    """
    settings = config.team(team)
    key = dg.AssetKey([team, spec.domain, spec.table])
    script = SQL_JOB if spec.sql is not None else Path(base_dir) / spec.script
    if not script.is_file():
        raise FileNotFoundError(f"{key.to_user_string()}: job script {script} not found")
    size_name = spec.job_size or settings.job_size
    return ResolvedSparkAsset(
        team=team,
        spec=spec,
        key=key,
        stage=config.stage,
        substrate=(
            config.execution.asset_substrates.get(key.to_user_string())
            or config.execution.force_substrate
            or spec.substrate
            or settings.substrate
        ),
        size_name=size_name,
        size=config.job_sizes[size_name],
        script=script,
        output=lake.asset_uri(config, key),
        timeout_seconds=spec.timeout_seconds or config.execution.timeout_seconds,
        owners=(f"team:{team}", *settings.owners),
    )
