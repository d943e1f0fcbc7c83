"""The declarative spec of a Spark asset and of its asset checks.

A team writes one :class:`SparkAssetSpec` per asset; :mod:`assets.lib.factory` turns it
into a Dagster asset. Checks are data, not code: the job script evaluates them in Spark
on whichever substrate runs it (see ``jobkit/__init__.py``), so they hold on EMR as locally.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg
from pydantic import BaseModel, ValidationError

from emr_platform import lake, tags
from emr_platform.automation import Automation, FreshnessSettings, RetrySettings, automation_condition
from emr_platform.config import ConfigError, PlatformConfig, SubstrateName
from emr_platform.launcher import SQL_JOB, SparkJob
from emr_platform.partitioning import (
    BackfillSettings,
    PartitioningSettings,
    PartitionScope,
    partition_mapping,
    scope,
    upstream_filter,
)
from emr_platform.settings import JobSize

UNPARTITIONED = "none"  # a spec's ``partitions`` when its team has a default partitioning it does not use


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
    every input readable as a temporary view of its name (run by the platform's ``jobkit/sql_job.py``).
    ``inputs`` maps the names the job reads to upstream asset keys (``"team/domain/table"``, any
    team) or sources. ``job_size`` and ``substrate`` default to the team's; ``timeout_seconds`` to
    ``execution.timeout_seconds``. Raises ``ValueError`` unless exactly one of ``script`` and
    ``sql`` is given.

    Operations (plain data; None: the team's default in config.yml, see
    ``emr_platform/partitioning.py`` and ``emr_platform/automation.py``):
    ``partitions`` names an entry of config.yml's ``partitionings`` (or is one inline, or
    ``"none"``); ``partition_column`` is the output column holding the partition (the local date
    of a time window, or the static key); ``input_partitions`` maps an input name to ``identity``,
    ``window`` or ``all`` (needed when the input's partitioning differs); ``backfill``
    (``{policy: single_run}`` by default, or ``{policy: multi_run, max_partitions_per_run: N}``);
    ``automation`` (``eager``, ``on_missing``, ``{on_cron: "<cron>"}`` in the team's time zone,
    ``none``); ``freshness`` (``{fail_window: 26h}``); ``retry`` (``{max_retries, delay_seconds,
    backoff}``).
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
    partitions: str | PartitioningSettings | dict | None = None
    partition_column: str | None = None
    input_partitions: dict[str, str] = field(default_factory=dict)
    backfill: BackfillSettings | dict | None = None
    automation: Automation | None = None
    freshness: FreshnessSettings | dict | None = None
    retry: RetrySettings | dict | None = None

    def __post_init__(self):
        if (self.script is None) == (self.sql is None):
            raise ValueError(f"{self.domain}/{self.table}: give exactly one of script and sql")

    def upstream_keys(self) -> dict[str, dg.AssetKey]:
        return {
            name: dg.AssetKey(ref.split("/")) for name, ref in self.inputs.items() if isinstance(ref, str)
        }


@dataclass(frozen=True)
class InputPartitions:
    """How a run reads one upstream input: Dagster's partition ``mapping`` (None: nothing to map)
    and, when the upstream is known and partitioned, its partitioning and partition column."""

    mapping: dg.PartitionMapping | None = None
    upstream: PartitioningSettings | None = None
    upstream_column: str | None = None


@dataclass(frozen=True)
class ResolvedSparkAsset:
    """A :class:`SparkAssetSpec` resolved once against a stage's config: the one value both the
    asset definition and each launch's :class:`~emr_platform.launcher.SparkJob` are made from.

    ``substrate`` is, in order: the stage's ``execution.asset_substrates["team/domain/table"]``,
    its ``execution.force_substrate``, the spec's, the team's. ``script`` is absolute;
    ``output`` the asset's lake URI; ``timeout_seconds`` the spec's, else the stage's default.
    ``partitioning`` (None: unpartitioned) and the Dagster objects of the spec's operations
    (backfill policy, automation condition, freshness and retry policy) are the spec's, else
    the team's defaults.
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
    partitioning: PartitioningSettings | None = None
    partition_column: str | None = None
    inputs: Mapping[str, InputPartitions] = field(default_factory=dict)
    backfill_policy: dg.BackfillPolicy | None = None
    automation_condition: dg.AutomationCondition | None = None
    freshness_policy: dg.FreshnessPolicy | None = None
    retry_policy: dg.RetryPolicy | None = None

    @property
    def tags(self) -> dict[str, str]:
        """Tags of the asset definition (and, with the asset and run, of every launch)."""
        return {tags.TEAM: self.team, tags.SUBSTRATE: self.substrate, tags.STAGE: self.stage}

    @property
    def partitions_def(self) -> dg.PartitionsDefinition | None:
        return self.partitioning.definition() if self.partitioning else None

    def partition_scope(self, keys: list[str] | None) -> PartitionScope | None:
        """The partitions a run over ``keys`` covers (None for an unpartitioned asset). Raises
        ``ValueError`` naming the asset when a key is outside the definition or the keys have gaps."""
        if self.partitioning is None:
            return None
        where = self.key.to_user_string()
        if not keys:
            raise ValueError(f"{where}: expected a partition key or range (the asset is partitioned), got none")
        return scope(self.partitioning, self.partition_column, list(keys), where)

    def job(self, config: PlatformConfig, run_id: str, partition_keys: list[str] | None = None) -> SparkJob:
        """The :class:`SparkJob` of one run (over ``partition_keys``, one key or a contiguous range,
        for a partitioned asset). Resolving input URIs may unpack package data into the local lake
        (``pkg://`` sources), so it happens at run time, never at definitions load."""
        partition = self.partition_scope(partition_keys)
        inputs = {}
        for name, ref in self.spec.inputs.items():
            if isinstance(ref, Source):
                inputs[name] = {"uri": lake.source_uri(config, ref.dataset, ref.path), "format": ref.format}
                continue
            inputs[name] = {"uri": lake.asset_uri(config, dg.AssetKey(ref.split("/"))), "format": "parquet"}
            how = self.inputs.get(name, InputPartitions())
            if partition and how.mapping and how.upstream and how.upstream_column:
                rows = upstream_filter(self.partitioning, how.upstream, how.mapping, partition, how.upstream_column)
                if rows:
                    inputs[name]["filter"] = rows
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
            partition=partition,
        )


def spec_partitioning(config: PlatformConfig, team: str, spec: SparkAssetSpec) -> PartitioningSettings | None:
    """The partitioning of ``spec``: its own (a name in ``partitionings``, inline, or ``"none"``),
    else its team's default. Raises ``ValueError`` for an unknown name or a bad inline value."""
    value = spec.partitions if spec.partitions is not None else config.team(team).partitions
    if value is None or value == UNPARTITIONED:
        return None
    if isinstance(value, str):
        if value not in config.partitionings:
            raise ValueError(f"expected one of config.yml's partitionings {sorted(config.partitionings)} or 'none', got {value!r}")
        return config.partitionings[value]
    return _model(PartitioningSettings, value)


# "team/domain/table" -> (partitioning, partition column) of the assets a team may read
UpstreamPartitions = Mapping[str, tuple[PartitioningSettings | None, str | None]]
# (spec, *field path) -> "<file>:<line> attributes.<field>" of a spec declared in YAML, else None
Locate = Callable[..., str | None]


def _model(cls: type[BaseModel], value: Any) -> Any:
    """``value`` (a model or its mapping) validated as ``cls``; ``ValueError`` with pydantic's reasons."""
    if isinstance(value, cls):
        return value
    try:
        return cls.model_validate(value)
    except ValidationError as exc:
        reasons = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'value'}: {e['msg']}" for e in exc.errors())
        raise ValueError(f"expected {cls.__name__} fields, got {value!r} ({reasons})") from None


def resolve(
    config: PlatformConfig,
    team: str,
    spec: SparkAssetSpec,
    base_dir: Path,
    upstream: UpstreamPartitions | None = None,
    label: str | None = None,
    locate: Locate | None = None,
) -> ResolvedSparkAsset:
    """``spec`` of ``team`` (job scripts relative to ``base_dir``) resolved against ``config``.

    A SQL asset's script is the platform's :data:`~emr_platform.launcher.SQL_JOB`.
    ``upstream`` gives the partitioning of the input assets it knows (an unknown input is read
    whole). Raises ``ConfigError`` for an undeclared team or any operation field that does not
    resolve (``<label>: <asset key>.<field>: expected ..., got ...``; ``label`` defaults to the
    team package's folder, or ``locate(spec, *field path)``, the file and line of a YAML asset's
    field), and ``FileNotFoundError`` naming the asset when its job script does
    not exist.
    """
    settings = config.team(team)
    key = dg.AssetKey([team, spec.domain, spec.table])
    script = SQL_JOB if spec.sql is not None else Path(base_dir) / spec.script
    if not script.is_file():
        raise FileNotFoundError(f"{key.to_user_string()}: job script {script} not found")
    size_name = spec.job_size or settings.job_size
    label = label or f"{Path(base_dir).parent.name}/{Path(base_dir).name}"
    operations = _operations(config, team, spec, upstream or {}, label, locate)
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
        **operations,
    )


def _operations(
    config: PlatformConfig,
    team: str,
    spec: SparkAssetSpec,
    upstream: UpstreamPartitions,
    label: str,
    locate: Locate | None = None,
) -> dict[str, Any]:
    """The partition and automation fields of :class:`ResolvedSparkAsset`; every problem in one ``ConfigError``."""
    settings = config.team(team)
    where = f"{label}: {team}/{spec.domain}/{spec.table}"
    problems: list[str] = []
    resolved: dict[str, Any] = {}

    def problem(field_name: str, message: str) -> None:
        place = locate(spec, *field_name.split(".")) if locate else None
        problems.append(f"{place}: {message}" if place else f"{where}.{field_name}: {message}")

    def attempt(field_name: str, make) -> Any:
        try:
            return make()
        except ValueError as exc:
            problem(field_name, str(exc))
            return None

    partitioning = attempt("partitions", lambda: spec_partitioning(config, team, spec))
    resolved["partitioning"] = partitioning
    resolved["partition_column"] = spec.partition_column
    if partitioning is not None and not spec.partition_column:
        problem("partition_column", "expected the output column that holds the partition, got none")
    inputs = {}
    for name in spec.input_partitions:
        if name not in spec.inputs:
            problem(f"input_partitions.{name}", f"expected an input name ({', '.join(spec.inputs)}), got {name!r}")
    for name, ref in spec.inputs.items():
        if isinstance(ref, Source):
            continue
        declared = spec.input_partitions.get(name)
        if ref in upstream:
            up, up_column = upstream[ref]
            mapping = attempt(f"input_partitions.{name}", lambda: partition_mapping(declared, partitioning, up))
            inputs[name] = InputPartitions(mapping, up, up_column)
        elif declared is not None:  # an input whose spec is unknown here: the mapping as declared, read whole
            mapping = attempt(f"input_partitions.{name}", lambda: partition_mapping(declared, partitioning, partitioning))
            inputs[name] = InputPartitions(mapping)
    resolved["inputs"] = inputs
    if partitioning is not None:
        backfill = attempt("backfill", lambda: _model(BackfillSettings, spec.backfill or settings.backfill))
        resolved["backfill_policy"] = backfill.policy_definition() if backfill else None
    elif spec.backfill is not None:
        problem("backfill", f"expected no backfill policy on an unpartitioned asset, got {spec.backfill!r}")
    automation = spec.automation if spec.automation is not None else settings.automation
    resolved["automation_condition"] = attempt("automation", lambda: automation_condition(automation, settings.timezone))
    freshness = spec.freshness or settings.freshness
    if freshness is not None:
        resolved["freshness_policy"] = attempt("freshness", lambda: _model(FreshnessSettings, freshness).policy())
    retry = spec.retry or settings.retry
    if retry is not None:
        resolved["retry_policy"] = attempt("retry", lambda: _model(RetrySettings, retry).policy())
    if problems:
        raise ConfigError(problems)
    return resolved
