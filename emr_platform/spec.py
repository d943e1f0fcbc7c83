"""The declarative spec of a Spark asset and of its asset checks.

A team writes one :class:`SparkAsset` per asset; :mod:`assets.lib.factory` turns it
into a Dagster asset. Checks are data, not code: the job script evaluates them in Spark
on whichever substrate runs it (see ``jobkit/__init__.py``), so they hold on EMR as locally.
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Annotated, Any, Literal

import dagster as dg
from pydantic import BaseModel, BeforeValidator, Field, PrivateAttr, ValidationError, model_validator

from emr_platform import lake, sql_parse, substrates, tags
from emr_platform.automation import Automation, FreshnessSettings, RetrySettings, automation_condition
from emr_platform.config import ConfigError, PlatformConfig, SubstrateName
from emr_platform.launcher import SQL_JOB, SparkJob, SparkLauncher, with_metadata
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
    """A file of a named external dataset declared under ``sources`` in config.yml: ``path`` is
    relative to the dataset's root and may not leave it. Raises ``ValueError`` otherwise."""

    dataset: str
    path: str
    format: Literal["csv", "parquet"] = "csv"

    def __post_init__(self):
        parts = PurePosixPath(self.path).parts
        if not parts or self.path.startswith("/") or posixpath.normpath(self.path).split("/")[0] == "..":
            raise ValueError(f"expected a file path inside dataset {self.dataset!r} (relative, no '..' leaving it), got {self.path!r}")


class SparkAssetError(ValueError):
    """A ``defs.yaml`` problem, as ``<file>:<line> - attributes.<field>: <what is wrong>``."""


# The YAML forms of the checks: `non_empty`, or a mapping with one key naming the constructor.
class _Range(dg.Model):
    column: str
    low: int | float | None = None  # an int stays an int: the check's description reads as a Python spec's
    high: int | float | None = None


class _Reference(dg.Model):
    column: str
    input: str = Field(description="The name of one of this asset's inputs.")
    ref_column: str | None = Field(default=None, description="The input's column; default: `column`.")


class _Metric(dg.Model):
    metric: str
    low: int | float


class CheckModel(dg.Model):
    """One asset check with its arguments in YAML: exactly one of these keys."""

    not_null: list[str] | None = Field(default=None, min_length=1, description="No null in any of these columns.")
    unique: list[str] | None = Field(default=None, min_length=1, description="These columns together identify a row.")
    between: _Range | None = Field(default=None, description="Every non-null value of `column` lies in [low, high].")
    references: _Reference | None = Field(
        default=None, description="Every non-null value of `column` occurs in column `ref_column` of input `input`."
    )
    metric_at_least: _Metric | None = Field(default=None, description="A metric the job reports is greater than `low`.")

    @model_validator(mode="after")
    def _one_kind(self) -> CheckModel:
        given = [name for name in type(self).model_fields if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(f"a check is `non_empty` or a mapping with exactly one of {', '.join(type(self).model_fields)}")
        return self

    def check(self) -> CheckSpec:
        """The :class:`CheckSpec` this stands for (made by the constructors Python specs use)."""
        if self.not_null:
            return not_null(*self.not_null)
        if self.unique:
            return unique(*self.unique)
        if self.between:
            return between(self.between.column, self.between.low, self.between.high)
        if self.references:
            return references(self.references.column, self.references.input, self.references.ref_column)
        return metric_at_least(self.metric_at_least.metric, self.metric_at_least.low)


Check = Literal["non_empty"] | CheckModel


def _settings_as_given(model: type[BaseModel]) -> Any:
    """A field's type: the mapping as written (the fields given, merged over the team's defaults and
    checked when the location resolves the asset, naming its key, file and line), whose JSON Schema
    is ``model``'s, so YAML editors complete and check it."""
    return Annotated[dict, BeforeValidator(lambda value: value, json_schema_input_type=model)]


def _check(value: Any) -> Any:
    """A check as Python writes it (a :class:`CheckSpec`) or as YAML does (``non_empty``, a mapping)."""
    if value == "non_empty":
        return non_empty()
    if isinstance(value, dict):
        try:
            return CheckModel.model_validate(value).check()
        except ValidationError as exc:  # re-raised plain: pydantic places it at this item of `checks`
            error = exc.errors()[0]
            where = ".".join(map(str, error["loc"]))
            raise ValueError(f"{where + ': ' if where else ''}{error['msg'].removeprefix('Value error, ')}") from None
    return value


# `sql: <name>.sql` names a file next to the defs.yaml; anything else is the query itself.
SQL_FILE = re.compile(r"^[\w./-]+\.sql$")
# Set by `dg check defs` and `dagster definitions validate` while they load definitions.
VALIDATION_ENV = "DAGSTER_IS_DEFS_VALIDATION_CLI"
NAME = r"^[a-z][a-z0-9_]*$"


class SparkAsset(dg.Component, dg.Model):
    """A Spark asset ``[team, domain, table]``; the team comes from the code location. The one
    shape of an asset: a team writes it in Python (``SparkAsset(domain=..., ...)`` in its ``SPECS``)
    or as the ``attributes`` of a ``defs.yaml`` (``type: assets.lib.SparkAsset``), and
    :meth:`build_defs` makes its Dagster asset, checks and partitions.

    Exactly one of ``script`` and ``sql``: ``script`` is a PySpark job script, a path relative to
    the team's package (in YAML: to the defs.yaml); ``sql`` is a Spark SQL query whose result is
    the table, with every input readable as a temporary view of its name (run by the platform's
    ``jobkit/sql_job.py``; in YAML it may name a ``.sql`` file next to the defs.yaml).
    ``inputs`` maps the names the job reads to upstream asset keys (``"team/domain/table"``, any
    team) or sources. ``job_size`` and ``substrate`` default to the team's; ``timeout_seconds`` to
    ``execution.timeout_seconds``. Raises ``ValueError`` (pydantic's ``ValidationError``) unless
    exactly one of ``script`` and ``sql`` is given, or for a field of the wrong type.

    Operations (plain data; None: the team's default in config.yml, see
    ``emr_platform/partitioning.py`` and ``emr_platform/automation.py``), checked when the
    location builds the asset (:func:`resolve`): ``partitions`` names an entry of config.yml's
    ``partitionings`` (or is one inline, or ``"none"``); ``partition_column`` is the output column
    holding the partition (the local date of a time window, or the static key);
    ``input_partitions`` maps an input name to ``identity``, ``window`` or ``all`` (needed when the
    input's partitioning differs); ``backfill`` (``{policy: single_run}`` by default, or
    ``{policy: multi_run, max_partitions_per_run: N}``); ``automation`` (``eager``, ``on_missing``,
    ``{on_cron: "<cron>"}`` in the team's time zone, ``none``); ``freshness``
    (``{fail_window: 26h}``); ``retry`` (``{max_retries, delay_seconds, backoff}``).
    """

    domain: str = Field(description="The asset key's middle part; lower_snake.", pattern=NAME)
    table: str = Field(description="The asset key's last part; lower_snake.", pattern=NAME)
    description: str = Field(description="What the table holds, shown in the catalog.", min_length=1)
    script: str | None = Field(
        default=None, description="A PySpark job script ending with jobkit.run(transform), relative to this file."
    )
    sql: str | None = Field(
        default=None,
        description="A Spark SQL query whose result is the table (each input is a view of its name), "
        "or the name of a .sql file next to this file.",
    )
    inputs: dict[str, str | Source] = Field(
        default_factory=dict,
        description="Name -> an asset key 'team/domain/table' (this team's or an upstream team's) or a source file.",
    )
    checks: tuple[Annotated[CheckSpec, BeforeValidator(_check, json_schema_input_type=Check)], ...] = Field(
        default=(non_empty(),), description="Asset checks evaluated by Spark after each write."
    )
    params: dict[str, Any] = Field(default_factory=dict, description="Passed to a script's transform as `params`.")
    job_size: str | None = Field(default=None, description="A name under job_sizes in config.yml; default: the team's.")
    substrate: SubstrateName | None = Field(default=None, description="Where it runs; default: the team's.")
    timeout_seconds: int | None = Field(default=None, gt=0, description="Default: execution.timeout_seconds.")
    partitions: str | _settings_as_given(PartitioningSettings) | None = Field(
        default=None,
        description="A name under partitionings in config.yml, an inline partitioning, or 'none'; "
        "default: the team's partitions.",
    )
    partition_column: str | None = Field(
        default=None, description="The output column holding the partition (a time window's local date, or the static key)."
    )
    input_partitions: dict[str, Literal["identity", "window", "all"]] = Field(
        default_factory=dict,
        description="Input name -> how a run's partitions map onto the input's: identity, window (the "
        "input's finer partitions in the run's time window) or all (read whole).",
    )
    backfill: _settings_as_given(BackfillSettings) | None = Field(
        default=None, description="single_run (default: a range in one run) or multi_run with max_partitions_per_run."
    )
    automation: Automation | None = Field(
        default=None,
        description="eager, on_missing, {on_cron: '<cron>'} in the team's time zone, or none; default: the team's.",
    )
    freshness: _settings_as_given(FreshnessSettings) | None = Field(default=None, description="{fail_window: 26h, warn_window: 12h}.")
    retry: _settings_as_given(RetrySettings) | None = Field(default=None, description="{max_retries, delay_seconds, backoff}.")

    # where a YAML asset was declared (file, positions); None for a Python one
    _source: _Source | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _script_or_sql(self) -> SparkAsset:
        if (self.script is None) == (self.sql is None):
            raise ValueError(f"{self.domain}/{self.table}: give exactly one of `script` (PySpark) and `sql` (Spark SQL)")
        return self

    def __eq__(self, other: object) -> bool:  # the declaration, not where it was read from
        return type(other) is type(self) and self.__dict__ == other.__dict__

    __hash__ = None

    def upstream_keys(self) -> dict[str, dg.AssetKey]:
        return {
            name: dg.AssetKey(ref.split("/")) for name, ref in self.inputs.items() if isinstance(ref, str)
        }

    # --- declared in YAML ---------------------------------------------------------------------

    @classmethod
    def get_model_cls(cls) -> type[SparkAsset]:
        return cls  # the attributes of a defs.yaml are the asset itself

    @classmethod
    def load(cls, attributes: SparkAsset | None, context: dg.ComponentLoadContext) -> SparkAsset:
        """The asset a defs.yaml declares: its script made relative to the team's package (as a
        Python spec writes it), a ``.sql`` file's text read. Raises :class:`SparkAssetError` for
        what the schema cannot see (a missing script or SQL file, SQL that Spark cannot parse or
        that reads a view no input declares, a check referencing an unknown input)."""
        source = _Source(context)
        if attributes is None:
            raise SparkAssetError(f"{display_path(source.yaml)}: attributes: expected domain, table, description and script or sql")
        source.check(attributes)
        update: dict[str, Any] = {}
        if attributes.script is not None:
            update["script"] = source.relative_script(attributes.script)
        elif SQL_FILE.match(attributes.sql):
            update["sql"] = source.sql_text(attributes.sql)
        asset = attributes.model_copy(update=update)
        asset._source = source
        return asset

    def where(self, *field_path: str | int) -> str | None:
        """``<file>:<line> attributes.<field path>`` of a field of this asset's defs.yaml (None: declared in Python)."""
        return self._source.where(field_path) if self._source else None

    # --- built by the team's code location ------------------------------------------------------

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        """The asset, built for the location loading this ``defs/`` folder (its :class:`Location`)."""
        location = getattr(context.component_tree, "location", None)
        if location is None:
            raise SparkAssetError(
                f"{self.where('table') or self.table}: a SparkAsset is built by its team's code location "
                "(assets.lib.factory.team_definitions), which loads its defs/ folder"
            )
        return self.definitions(location)

    def definitions(self, location: Location) -> dg.Definitions:
        """The Dagster asset of this spec in ``location``, with its asset checks, partitions and
        operations; each run builds its :class:`~emr_platform.launcher.SparkJob` and launches it on
        the launcher resource of its substrate (named by resource key only). Owners, kinds, the group
        and the team's tags are the location's policy, mapped over every asset it loads.
        Raises ``ConfigError`` and ``FileNotFoundError`` as :func:`resolve`."""
        asset = resolve(location.config, location.team, self, location.base_dir, location.upstream, location.label,
                        lambda spec, *field_path: spec.where(*field_path))
        config, key = location.config, asset.key
        launcher_key = substrates.get(asset.substrate).resource_key
        deps = [
            dg.AssetDep(upstream, partition_mapping=asset.inputs[name].mapping if name in asset.inputs else None)
            for name, upstream in self.upstream_keys().items()
        ]

        @dg.asset(
            key=key,
            description=self.description,
            deps=deps,
            partitions_def=asset.partitions_def,
            backfill_policy=asset.backfill_policy,
            automation_condition=asset.automation_condition,
            freshness_policy=asset.freshness_policy,
            retry_policy=asset.retry_policy,
            tags={tags.SUBSTRATE: asset.substrate},  # the location's policy adds the kinds from it
            metadata={"job_script": dg.MetadataValue.path(str(asset.script)), "job_size": asset.size_name},
            check_specs=[dg.AssetCheckSpec(c.name, asset=key, description=c.description) for c in self.checks],
            required_resource_keys={launcher_key},
        )
        def _spark_asset(context):  # no annotation: dagster rejects string (postponed) annotations here
            launcher: SparkLauncher = getattr(context.resources, launcher_key)
            keys = list(context.partition_keys) if asset.partitioning else None
            job = asset.job(config, context.run.run_id, keys)
            results = launcher.launch(context, job)
            if job.partition:  # each partition of a range gets this materialization; its cost is the whole run's
                results = with_metadata(
                    results, {"partition_range": job.partition.label, "partition_count": len(job.partition.keys)}
                )
            yield from results

        return dg.Definitions(assets=[_spark_asset])


@dataclass(frozen=True)
class Location:
    """What a team's code location hands each of its assets when it builds them: the team, the
    stage's config, the team package's folder (job scripts are relative to it), the partitioning
    of every asset the team may read (``{"team/domain/table": (partitioning, column)}``) and the
    label of its package in messages (``assets/analytics``)."""

    team: str
    config: PlatformConfig
    base_dir: Path
    upstream: Mapping[str, tuple[PartitioningSettings | None, str | None]]
    label: str


class TeamComponentTree(dg.ComponentTree):
    """Dagster's component tree of a team's ``defs/`` folder (a subclass, as Dagster's own test and
    legacy trees are), carrying the :class:`Location` its ``SparkAsset`` components are built for:
    the team's code location sets ``location`` once it has validated what the tree loaded, then
    asks the tree to build (:meth:`SparkAsset.build_defs`)."""

    location: Location | None = None


class _Source:
    """Where a YAML asset came from: its ``defs.yaml``, the team package's folder, positions."""

    def __init__(self, context: dg.ComponentLoadContext):
        self.tree = context.resolution_context.source_position_tree
        self.yaml = Path(self.tree.position.filename) if self.tree else context.path / "defs.yaml"
        self.folder = self.yaml.parent
        self.package = Path(context.defs_module_path).parent

    def where(self, field_path: Sequence[str | int]) -> str:
        dotted = ".".join(map(str, ("attributes", *field_path)))
        if self.tree is None:
            return f"{self.yaml}: {dotted}"
        position, _ = self.tree.lookup_closest_and_path(["attributes", *field_path], trace=None)
        return f"{display_path(self.yaml)}:{position.start.line} {dotted}"

    def error(self, field_path: Sequence[str | int], message: str) -> SparkAssetError:
        return SparkAssetError(f"{self.where(field_path)}: {message}")

    def relative_script(self, script: str) -> str:
        return os.path.relpath((self.folder / script).resolve(), self.package.resolve())

    def sql_text(self, name: str) -> str:
        return (self.folder / name).read_text(encoding="utf-8")

    def check(self, asset: SparkAsset) -> None:
        """Raise :class:`SparkAssetError` for the first problem the schema cannot see."""
        if asset.script is not None and not (self.folder / asset.script).is_file():
            raise self.error(["script"], f"job script {self.folder / asset.script} not found")
        if asset.sql is not None:
            if SQL_FILE.match(asset.sql) and not (self.folder / asset.sql).is_file():
                raise self.error(["sql"], f"SQL file {self.folder / asset.sql} not found")
            if os.environ.get(VALIDATION_ENV):
                self.check_sql(asset)
        for index, check in enumerate(asset.checks):
            if check.kind == "references" and check.input not in asset.inputs:
                raise self.error(
                    ["checks", index, "references", "input"],
                    f"expected one of this asset's inputs ({', '.join(sorted(asset.inputs)) or 'none'}), "
                    f"got {check.input!r}",
                )

    def check_sql(self, asset: SparkAsset) -> None:
        """Parse the SQL with Spark's parser; every table it reads must be an input's view."""
        is_file = SQL_FILE.match(asset.sql)
        text = self.sql_text(asset.sql) if is_file else asset.sql
        try:
            parsed = sql_parse.parse(text)
        except sql_parse.SqlSyntaxError as error:
            where = self.where(["sql"])
            if is_file and error.line:
                where = f"{display_path(self.folder / asset.sql)}:{error.line} (attributes.sql of {display_path(self.yaml)})"
            raise SparkAssetError(f"{where}: Spark cannot parse the SQL: {error.message}") from None
        except sql_parse.SqlParserUnavailable as error:
            raise self.error(["sql"], str(error)) from None
        unknown = sorted(parsed.relations - set(asset.inputs))
        if unknown:
            raise self.error(
                ["sql"],
                f"the SQL reads {', '.join(unknown)}, which no input declares (declared: "
                f"{', '.join(sorted(asset.inputs)) or 'none'}); add it under `inputs`",
            )


def display_path(path: Path | str) -> str:
    """``path`` relative to the working directory when it lies inside it (as a reader types it)."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


@dataclass(frozen=True)
class InputPartitions:
    """How a run reads one upstream input: Dagster's partition ``mapping`` (None: nothing to map)
    and, when the upstream is known and partitioned, its partitioning and partition column."""

    mapping: dg.PartitionMapping | None = None
    upstream: PartitioningSettings | None = None
    upstream_column: str | None = None


@dataclass(frozen=True)
class ResolvedSparkAsset:
    """A :class:`SparkAsset` resolved once against a stage's config: the one value both the
    asset definition and each launch's :class:`~emr_platform.launcher.SparkJob` are made from.

    ``substrate`` is, in order: the stage's ``execution.asset_substrates["team/domain/table"]``,
    its ``execution.force_substrate``, the spec's, the team's. ``script`` is absolute;
    ``output`` the asset's lake URI; ``timeout_seconds`` the spec's, else the stage's default.
    ``partitioning`` (None: unpartitioned) and the Dagster objects of the spec's operations
    (backfill policy, automation condition, freshness and retry policy) are the spec's, else
    the team's defaults.
    """

    team: str
    spec: SparkAsset
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


def spec_partitioning(config: PlatformConfig, team: str, spec: SparkAsset) -> PartitioningSettings | None:
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
        raise FieldErrors(
            f"expected {cls.__name__} fields, got {value!r} ({reasons})", [(e["loc"], e["msg"]) for e in exc.errors()]
        ) from None


class FieldErrors(ValueError):
    """A settings value that does not validate; ``errors`` holds (field path inside it, message)
    pairs, so a YAML asset's problem names the line of the field itself."""

    def __init__(self, message: str, errors: list[tuple[tuple, str]]):
        super().__init__(message)
        self.errors = errors


def resolve(
    config: PlatformConfig,
    team: str,
    spec: SparkAsset,
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
    size = operations.pop("size")
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
        size=size,
        script=script,
        output=lake.asset_uri(config, key),
        timeout_seconds=spec.timeout_seconds or config.execution.timeout_seconds,
        owners=(f"team:{team}", *settings.owners),
        **operations,
    )


def _operations(
    config: PlatformConfig,
    team: str,
    spec: SparkAsset,
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
        except FieldErrors as exc:
            if locate is None or locate(spec, field_name) is None:
                problem(field_name, str(exc))
            else:  # a YAML asset: the line of each field
                for path, message in exc.errors:
                    problem(".".join(map(str, (field_name, *path))), message)
            return None
        except ValueError as exc:
            problem(field_name, str(exc))
            return None

    size_name = spec.job_size or settings.job_size
    resolved["size"] = config.job_sizes.get(size_name)
    if resolved["size"] is None:
        problem("job_size", f"expected one of config.yml's job_sizes {sorted(config.job_sizes)}, got {size_name!r}")

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
