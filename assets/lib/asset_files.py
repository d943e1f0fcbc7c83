"""The files of a new YAML Spark asset: its ``defs.yaml`` and its ``.sql`` (or PySpark ``.py``) file.

One source for both ways of scaffolding an asset: ``emr-platform asset new`` (and ``team new``'s
example) and ``dg scaffold defs assets.lib.SparkAsset <domain>/<table>``.
"""

from __future__ import annotations

from pathlib import Path

# The JSON Schema of a defs.yaml (emr-platform asset schema), committed at the repository's root.
DEFS_SCHEMA_FILE = "defs.schema.json"

ASSET_TEMPLATE = """# yaml-language-server: $schema={schema}
type: assets.lib.SparkAsset
attributes:
  domain: {domain}
  table: {table}
  description: "{description}"
  {body}: {table}.{suffix}
  inputs:{inputs}
  checks:
    - non_empty
    # - not_null: [column_a, column_b]
    # - unique: [key_column]
    # - between: {{column: month, low: 1, high: 12}}
    # - references: {{column: carrier, input: airlines}}
  # Operations; unset, the team's defaults in config.yml:
  # partitions: daily_2013              # a name under partitionings in config.yml, or none
  # partition_column: flight_date       # the output column that holds the partition
  # input_partitions: {{flights: window}} # per input: identity | window | all
  # automation: eager                   # eager | on_missing | {{on_cron: "0 6 * * *"}} | none
  # freshness: {{fail_window: 26h}}
  # retry: {{max_retries: 2, delay_seconds: 30, backoff: exponential}}
"""

SQL_TEMPLATE = """-- {team}/{domain}/{table}: the query's result is the table; each input is a view named like the input.
{query}
"""
EXAMPLE_QUERY = "SELECT id AS n, id * id AS square FROM range(1, 101)"

JOB_TEMPLATE = '''"""{team}/{domain}/{table}: a PySpark job; each input arrives as inputs[name] (a DataFrame)."""

from pyspark.sql import functions as F

import jobkit


def transform(spark, inputs, params):
    {body}


if __name__ == "__main__":
    jobkit.run(transform)
'''
EXAMPLE_BODY = 'return spark.range(1, 101).select(F.col("id").alias("n"), (F.col("id") * F.col("id")).alias("square"))'


def asset_files(
    team: str,
    domain: str,
    table: str,
    depth: int,
    sql: bool = True,
    inputs: dict[str, str] | None = None,
    description: str = "",
) -> dict[str, str]:
    """``{file name: text}`` of asset ``[team, domain, table]`` in a folder ``depth`` levels below the
    repository root (for the schema's relative path). The query (or script) reads the first input,
    or makes an example table when there is none."""
    inputs = inputs or {}
    first = next(iter(inputs), None)
    suffix = "sql" if sql else "py"
    where = {"team": team, "domain": domain, "table": table}
    files = {
        "defs.yaml": ASSET_TEMPLATE.format(
            schema=(Path(*[".."] * depth) / DEFS_SCHEMA_FILE).as_posix(),
            domain=domain,
            table=table,
            description=description or f"{table}: say what one row is. Replace the example query.",
            body="sql" if sql else "script",
            suffix=suffix,
            inputs="".join(f"\n    {name}: {key}" for name, key in inputs.items()) or " {}",
        )
    }
    if sql:
        files[f"{table}.sql"] = SQL_TEMPLATE.format(query=f"SELECT * FROM {first}" if first else EXAMPLE_QUERY, **where)
    else:
        files[f"{table}.py"] = JOB_TEMPLATE.format(body=f'return inputs["{first}"]' if first else EXAMPLE_BODY, **where)
    return files
