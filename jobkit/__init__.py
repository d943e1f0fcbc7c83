"""Job-side kit shared by every job script: read inputs, write the output, report through Pipes.

Runs inside the Spark driver on every substrate (local Spark, EMR Serverless, EMR Classic),
so it imports only ``pyspark`` and ``dagster_pipes`` — never the platform package. The
launcher ships this package next to the script (PYTHONPATH locally, ``--py-files`` on EMR); a SQL
asset's job is ``jobkit/sql_job.py``.

A job script is a ``transform(spark, inputs, params)`` returning the DataFrame to write,
or ``(DataFrame, metrics)`` where ``metrics`` maps names to numbers (e.g. ``{"auc": 0.71}``)
reported as metadata and usable by ``metric_at_least`` checks. It ends with
``jobkit.run(transform)``.

Pipes extras (set by the launcher): ``asset_key``, ``inputs`` (name -> {uri, format, and for a
partitioned run the upstream partitions it reads as ``filter``}), ``output`` (URI), ``checks``
(list of check payloads), ``params``, ``partition`` (None, or the key or range of the run; see
:class:`Partition`).

A partitioned asset: a transform that takes a fourth argument ``partition`` receives the
:class:`Partition` of the run; rows outside it are dropped, the output is written partitioned by
the partition column with dynamic partition overwrite (only the run's partitions are replaced),
and row count, preview and checks cover the run's partitions only.
"""

from __future__ import annotations

import datetime as dt
import inspect
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dagster_pipes import PipesContext, PipesEnvVarParamsLoader, PipesMessageWriter, open_dagster_pipes
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

PREVIEW_ROWS = 5
Transform = Callable[[SparkSession, dict[str, DataFrame], dict[str, Any]], "DataFrame | tuple[DataFrame, dict]"]


def read_input(spark: SparkSession, spec: dict[str, str]) -> DataFrame:
    """An input as a DataFrame: parquet, or CSV with a header where ``NA`` means null."""
    if spec["format"] == "csv":
        return spark.read.csv(spec["uri"], header=True, inferSchema=True, nullValue="NA")
    return spark.read.parquet(spec["uri"])


ROW_CHECKS = ("not_null", "between")  # decided row by row: counted together in one pass


def _bad_row(check: dict):
    """The condition under which one row violates a row check."""
    columns = check["columns"]
    if check["kind"] == "not_null":
        return F.expr(" OR ".join(f"`{c}` IS NULL" for c in columns))
    column = F.col(columns[0])
    bad = F.lit(False)
    if check.get("low") is not None:
        bad = bad | (column < check["low"])
    if check.get("high") is not None:
        bad = bad | (column > check["high"])
    return column.isNotNull() & bad


def _violations(check: dict, table: DataFrame, inputs: dict[str, DataFrame]) -> DataFrame:
    kind, columns = check["kind"], check["columns"]
    if kind in ROW_CHECKS:
        return table.where(_bad_row(check))
    if kind == "unique":  # like SQL UNIQUE, rows with a null key are not_null's business
        keyed = table.dropna(subset=list(columns))
        return keyed.groupBy(*columns).count().where("count > 1")
    if kind == "references":
        column, ref_column = columns
        keys = inputs[check["input"]].select(F.col(ref_column).alias("__ref")).distinct()
        return table.where(F.col(column).isNotNull()).join(keys, F.col(column) == F.col("__ref"), "left_anti")
    raise ValueError(f"unknown check kind {kind!r}")


def scan(table: DataFrame, checks: list[dict]) -> tuple[int, dict[str, int]]:
    """``(rows, {check name: violations})``: the table's row count and each row check's count of
    offending rows, all counted in one pass over the table."""
    row_checks = [c for c in checks if c["kind"] in ROW_CHECKS]
    if not row_checks:
        return table.count(), {}
    totals = table.agg(
        F.count(F.lit(1)).alias("rows"),
        *[F.count(F.when(_bad_row(c), 1)).alias(f"c{i}") for i, c in enumerate(row_checks)],
    ).first()
    return totals["rows"], {c["name"]: totals[f"c{i}"] for i, c in enumerate(row_checks)}


def evaluate_checks(
    checks: list[dict],
    table: DataFrame,
    rows: int,
    counts: dict[str, int],
    inputs: dict[str, DataFrame],
    metrics: dict[str, float],
) -> list[tuple[dict, bool, dict[str, Any]]]:
    """``(check, passed, metadata)`` for each check payload, against the written table.

    ``rows`` and ``counts`` (the row checks' violations) come from :func:`scan`; ``unique``
    and ``references`` need a query each. A failed check's metadata holds its violation count
    and up to 3 offending rows.
    """
    results = []
    for check in checks:
        kind = check["kind"]
        if kind == "non_empty":
            results.append((check, rows > 0, {"rows": rows}))
            continue
        if kind == "metric_at_least":
            value = metrics.get(check["metric"])
            passed = value is not None and value > check["low"]
            results.append((check, passed, {check["metric"]: value, "threshold": check["low"]}))
            continue
        bad = _violations(check, table, inputs)
        count = counts[check["name"]] if kind in ROW_CHECKS else bad.count()
        metadata: dict[str, Any] = {"violations": count}
        if count:
            metadata["examples"] = str([row.asDict() for row in bad.limit(3).collect()])
        results.append((check, count == 0, metadata))
    return results


PREVIEW_CELL_CHARS = 60


def _markdown_cell(value: Any) -> str:
    # A "|" would end the cell and a newline the row; null is shown as Spark shows it.
    text = "null" if value is None else str(value)
    if len(text) > PREVIEW_CELL_CHARS:
        text = text[: PREVIEW_CELL_CHARS - 1] + "…"
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def markdown_table(columns: list[str], rows: list[tuple]) -> str:
    """A GitHub-flavoured markdown table; cells are escaped and cut to ``PREVIEW_CELL_CHARS`` characters."""
    header = "| " + " | ".join(map(_markdown_cell, columns)) + " |\n|" + "---|" * len(columns)
    body = "".join("\n| " + " | ".join(map(_markdown_cell, row)) + " |" for row in rows)
    return header + body


def _markdown_preview(table: DataFrame) -> str:
    # Rows as tuples: asDict() would merge columns of the same name.
    return markdown_table(table.columns, [tuple(row) for row in table.limit(PREVIEW_ROWS).collect()])


def _metadata(table: DataFrame, rows: int, output: str, metrics: dict[str, float], seconds: float) -> dict:
    schema = {"columns": [{"name": f.name, "type": f.dataType.simpleString()} for f in table.schema.fields]}
    return {
        "dagster/row_count": {"raw_value": rows, "type": "int"},
        "dagster/column_schema": {"raw_value": schema, "type": "table_schema"},
        "output_uri": {"raw_value": output, "type": "url" if "://" in output else "path"},
        "preview": {"raw_value": _markdown_preview(table), "type": "md"},
        "spark_seconds": {"raw_value": round(seconds, 3), "type": "float"},
        **{name: {"raw_value": float(value), "type": "float"} for name, value in metrics.items()},
    }


def run(transform: Transform) -> None:
    """Run ``transform`` under Dagster Pipes: read inputs, write parquet, report metadata and checks."""
    with open_dagster_pipes(message_writer=message_writer()) as pipes:
        run_with(pipes, transform)


def message_writer() -> PipesMessageWriter | None:
    """The S3 message writer when the launcher asked for messages in S3 (the EMR launchers do),
    else None: Pipes' default writer (a file or stdout, locally)."""
    params = PipesEnvVarParamsLoader().load_messages_params()
    if "bucket" not in params:
        return None
    import boto3  # on EMR images; only needed here
    from dagster_pipes import PipesS3MessageWriter

    return PipesS3MessageWriter(client=boto3.client("s3"))


class AccessDenied(PermissionError):
    """S3 refused the job's role a request on ``uri`` (HTTP 403, Hadoop's ``AccessDeniedException``)."""

    def __init__(self, uri: str):
        self.uri = uri
        super().__init__(f"AccessDenied: {uri}: refused to the job's role (its team's IAM policy)")


# The URI in Hadoop's AccessDeniedException, as Spark (Connect or classic) reports it:
# "(java.nio.file.AccessDeniedException) s3://bucket/key: getFileStatus on ..." or
# "java.nio.file.AccessDeniedException: s3a://bucket/key: ...".
_ACCESS_DENIED = re.compile(r"java\.nio\.file\.AccessDeniedException\)?:? (s3a?://[^\s:]+)")


def access_denied(error: BaseException) -> AccessDenied | None:
    """:class:`AccessDenied` for ``error`` when it is S3's refusal of a path, else None."""
    match = _ACCESS_DENIED.search(str(error))
    return AccessDenied(match.group(1)) if match else None


def run_with(pipes: PipesContext, transform: Transform) -> None:
    """The body of a job in an open Pipes session: read the inputs (only the partitions the run
    reads), call ``transform``, write its rows, report rows, schema, preview, metrics and one
    result per declared check. What :func:`run` and the SQL job (``jobkit/sql_job.py``) share.

    Raises :class:`AccessDenied` (one line naming the URI, without the JVM's stack trace) when
    S3 refuses the job's role a path; any other error as the transform or Spark raised it.
    """
    try:
        _run_with(pipes, transform)
    except Exception as error:
        denied = access_denied(error)
        if denied is None:
            raise
        raise denied from None


def _run_with(pipes: PipesContext, transform: Transform) -> None:
    extras = pipes.extras
    started = time.monotonic()
    spark = SparkSession.builder.appName(extras["asset_key"]).getOrCreate()
    partition = Partition.from_extras(extras.get("partition"))
    inputs = {name: scoped_input(spark, spec) for name, spec in extras["inputs"].items()}
    produced = call_transform(transform, spark, inputs, extras.get("params") or {}, partition)
    table, metrics = produced if isinstance(produced, tuple) else (produced, {})
    # The row count, checks and preview read the rows as the write cached them, not a listing and
    # re-read of the output; unpersisted even if the write fails (a warm server outlives the job).
    written = (table if partition is None else partition_rows(table, partition)).persist()
    try:
        if partition is None:
            written.write.mode("overwrite").parquet(extras["output"])
        else:
            write_partitions(spark, pipes, written, extras["output"], partition)
        rows, counts = scan(written, extras["checks"])  # the row count and the row checks share one pass
        pipes.log.info(f"wrote {rows} rows to {extras['output']}")
        pipes.report_asset_materialization(
            metadata=_metadata(written, rows, extras["output"], metrics, time.monotonic() - started)
        )
        for check, passed, metadata in evaluate_checks(extras["checks"], written, rows, counts, inputs, metrics):
            pipes.report_asset_check(
                check_name=check["name"],
                passed=passed,
                severity="ERROR",
                metadata={k: {"raw_value": v, "type": "__infer__"} for k, v in metadata.items()},
            )
    finally:
        written.unpersist()


# --- Partitions -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Partition:
    """The partitions one run covers: ``keys`` (one key, or a contiguous range in order) of ``kind``
    ``daily``, ``monthly`` or ``static``. ``column`` is the output column holding the partition.
    For time windows, ``start`` and ``end`` are tz-aware timestamps (end exclusive) and
    ``start_date`` / ``end_date`` the local dates of those bounds (``end_date`` exclusive)."""

    kind: str
    column: str
    keys: tuple[str, ...]
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    timezone: str | None = None

    @classmethod
    def from_extras(cls, extra: dict | None) -> Partition | None:
        """The ``partition`` Pipes extra as a :class:`Partition` (None for an unpartitioned run)."""
        if not extra:
            return None
        window = extra.get("time_window") or {}
        parse = dt.datetime.fromisoformat
        return cls(
            kind=extra["kind"],
            column=extra["column"],
            keys=tuple(extra["keys"]),
            start=parse(window["start"]) if window else None,
            end=parse(window["end"]) if window else None,
            timezone=extra.get("timezone"),
        )

    @property
    def key(self) -> str | None:
        """The partition key of a one-partition run, else None."""
        return self.keys[0] if len(self.keys) == 1 else None

    @property
    def start_date(self) -> dt.date | None:
        return self.start.date() if self.start else None

    @property
    def end_date(self) -> dt.date | None:
        return self.end.date() if self.end else None

    def contains(self, column=None):
        """The condition that a row's ``column`` (a name or Column; default: the partition column)
        lies in this run's partitions: local dates in [start_date, end_date), or one of the keys."""
        return row_filter(column if column is not None else self.column, self.bounds())

    def bounds(self) -> dict:
        if self.start is None:
            return {"keys": list(self.keys)}
        return {"start": self.start_date.isoformat(), "end": self.end_date.isoformat()}


def row_filter(column, bounds: dict):
    """``column`` (name or Column) in ``bounds``: ``{"start", "end"}`` ISO dates (end exclusive) or ``{"keys"}``."""
    column = F.col(column) if isinstance(column, str) else column
    if "keys" in bounds:
        return column.cast("string").isin(list(bounds["keys"]))
    start, end = dt.date.fromisoformat(bounds["start"]), dt.date.fromisoformat(bounds["end"])
    return (column >= F.lit(start)) & (column < F.lit(end))


def scoped_input(spark: SparkSession, spec: dict) -> DataFrame:
    """An input as :func:`read_input` reads it, limited to the upstream partitions the run reads
    (``spec["filter"]``: ``{"column", "start", "end"}`` or ``{"column", "keys"}``), which Spark
    prunes to those partition directories."""
    table = read_input(spark, spec)
    rows = spec.get("filter")
    return table.where(row_filter(rows["column"], rows)) if rows else table


def call_transform(transform: Transform, spark: SparkSession, inputs: dict, params: dict, partition: Partition | None):
    """``transform(spark, inputs, params)``, with ``partition`` as well when it takes a fourth argument."""
    parameters = inspect.signature(transform).parameters
    if partition is not None and (len(parameters) >= 4 or "partition" in parameters):
        return transform(spark, inputs, params, partition)
    return transform(spark, inputs, params)


def partition_rows(table: DataFrame, partition: Partition) -> DataFrame:
    """The rows of ``table`` in ``partition``, the partition column last, as a read of the written
    partitions gives them. Raises ``ValueError`` when ``table`` has no partition column."""
    column = partition.column
    if column not in table.columns:
        raise ValueError(f"the transform's output has no partition column {column!r}; it has {table.columns}")
    scoped = table.where(partition.contains())
    return scoped.select(*[c for c in scoped.columns if c != column], column)


def write_partitions(spark: SparkSession, pipes: PipesContext, rows: DataFrame, output: str, partition: Partition) -> None:
    """Write ``rows`` (from :func:`partition_rows`) to ``output``, partitioned by the partition column,
    replacing only the partitions they hold (``partitionOverwriteMode=dynamic``, the per-write form of
    ``spark.sql.sources.partitionOverwriteMode``), one file per partition.

    A table left at ``output`` by the asset before it was partitioned (files outside
    ``<column>=<value>/`` folders) is replaced whole, with a warning: the two layouts cannot be read together.
    """
    column = partition.column
    mode = "dynamic"
    if _unpartitioned_files(spark, output, column):
        pipes.log.warning(f"{output} holds a table not partitioned by {column}: replacing it whole")
        mode = "static"
    rows.repartition(column).write.mode("overwrite").option("partitionOverwriteMode", mode).partitionBy(
        column
    ).parquet(output)


def _unpartitioned_files(spark: SparkSession, output: str, column: str) -> bool:
    try:
        files = spark.read.parquet(output).inputFiles()
    except Exception:  # nothing there yet (PATH_NOT_FOUND) or not a parquet table
        return False
    return any(f"/{column}=" not in path for path in files)
