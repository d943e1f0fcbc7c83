"""The cost estimates Spark materializations recorded in Dagster's event log (``cost_usd`` metadata)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import dagster as dg

from emr_platform.sessions import INTERACTIVE

PAGE = 1000


def estimate_rows(instance: dg.DagsterInstance, since: dt.datetime) -> list[dict[str, Any]]:
    """One row per run and asset since ``since`` (UTC) whose materialization carries ``cost_usd``.

    A run over a range of partitions (a single-run backfill) records one materialization per
    partition, each with the cost of the whole run: it is counted once, on the run's day, and
    not spread over the partitions' days (nothing says how the job's cost divides among them).

    Row: ``date`` (UTC day), ``team`` (first part of the asset key), ``asset``
    (``team/domain/table``), ``substrate``, ``cost_usd`` (USD), ``cost_basis``, ``run_id``.
    Interactive work (sessions and ad-hoc runs, recorded under ``[team, "interactive", ...]``)
    has substrate ``interactive``: the team's own line in the cost report.
    """
    rows = []
    seen: set[tuple[str, dg.AssetKey]] = set()
    for key in instance.get_asset_keys():
        cursor = None
        while True:
            result = instance.fetch_materializations(
                dg.AssetRecordsFilter(asset_key=key, after_timestamp=since.timestamp()), limit=PAGE, cursor=cursor
            )
            for record in result.records:
                metadata = record.asset_materialization.metadata if record.asset_materialization else {}
                if "cost_usd" not in metadata:
                    continue
                if record.run_id and record.partition_key is not None:  # one per partition of a run
                    if (record.run_id, key) in seen:
                        continue
                    seen.add((record.run_id, key))
                rows.append(
                    {
                        "date": dt.datetime.fromtimestamp(record.timestamp, dt.UTC).date().isoformat(),
                        "team": key.path[0],
                        "asset": key.to_user_string(),
                        "substrate": INTERACTIVE if key.path[1:2] == [INTERACTIVE] else _text(metadata.get("substrate"), "unknown"),
                        "cost_usd": float(metadata["cost_usd"].value),
                        "cost_basis": _text(metadata.get("cost_basis"), ""),
                        "run_id": record.run_id,
                    }
                )
            if not result.has_more:
                break
            cursor = result.cursor
    return rows


def _text(value: Any, default: str) -> str:
    return str(value.value) if value is not None else default
