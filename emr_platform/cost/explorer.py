"""AWS Cost Explorer daily spend by team and service, and its parquet partitions in the lake.

``GetCostAndUsage`` (https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_GetCostAndUsage.html)
costs USD 0.01 per request (https://aws.amazon.com/aws-cost-management/aws-cost-explorer/pricing/),
so :class:`CostExplorerQuery` refuses to send the same request twice.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from emr_platform import substrates
from emr_platform.config import PlatformConfig
from emr_platform.cost import store

TEAM_TAG = "team"
UNTAGGED = "untagged"
METRICS = ("UnblendedCost", "AmortizedCost")
GROUP_BY = ({"Type": "TAG", "Key": TEAM_TAG}, {"Type": "DIMENSION", "Key": "SERVICE"})
SCHEMA = pa.schema(
    [
        ("date", pa.string()),  # YYYY-MM-DD, UTC day of the spend
        ("team", pa.string()),
        ("service", pa.string()),
        ("substrate", pa.string()),
        ("amount", pa.float64()),  # UnblendedCost
        ("amortized_amount", pa.float64()),  # AmortizedCost
        ("currency", pa.string()),
        ("estimated", pa.bool_()),  # Cost Explorer may still restate the day
    ]
)


def substrate_of(service: str) -> str:
    """The platform substrate a Cost Explorer SERVICE bills for (the first descriptor that
    claims it, in registry order), or ``other``."""
    name = service.lower()
    return next((s.name for s in substrates.REGISTRY.values() if s.bills(name)), "other")


def rows_from_results(results_by_time: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows of :data:`SCHEMA` from ``ResultsByTime`` grouped by team tag and SERVICE.

    A group key ``team$`` (the tag is absent) becomes team ``untagged``, so untagged spend is kept.
    """
    rows = []
    for result in results_by_time:
        day = result["TimePeriod"]["Start"]
        for group in result.get("Groups", []):
            tag, service = group["Keys"]
            team = tag.partition("$")[2] or UNTAGGED
            unblended = group["Metrics"]["UnblendedCost"]
            amortized = group["Metrics"].get("AmortizedCost", {"Amount": "0"})
            rows.append(
                {
                    "date": day,
                    "team": team,
                    "service": service,
                    "substrate": substrate_of(service),
                    "amount": float(unblended["Amount"]),
                    "amortized_amount": float(amortized["Amount"]),
                    "currency": unblended.get("Unit", "USD"),
                    "estimated": bool(result.get("Estimated", False)),
                }
            )
    return rows


class CostExplorerQuery:
    """Daily ``GetCostAndUsage`` requests through one boto3 ``ce`` client, each sent at most once.

    ``requests`` counts the requests sent (USD 0.01 each). Raises ``RuntimeError`` when asked
    to send a request it already sent.
    """

    def __init__(self, client: Any):
        self.client = client
        self.requests = 0
        self._sent: set[tuple[str, str, str | None]] = set()

    def daily(self, start: dt.date, end: dt.date) -> list[dict[str, Any]]:
        """Rows of the days ``start`` (inclusive) to ``end`` (exclusive), following ``NextPageToken``."""
        rows: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            key = (start.isoformat(), end.isoformat(), token)
            if key in self._sent:
                raise RuntimeError(f"Cost Explorer request {key} was already sent in this run")
            self._sent.add(key)
            request: dict[str, Any] = {
                "TimePeriod": {"Start": start.isoformat(), "End": end.isoformat()},
                "Granularity": "DAILY",
                "Metrics": list(METRICS),
                "GroupBy": [dict(g) for g in GROUP_BY],
            }
            if token:
                request["NextPageToken"] = token
            response = self.client.get_cost_and_usage(**request)
            self.requests += 1
            rows += rows_from_results(response.get("ResultsByTime", []))
            token = response.get("NextPageToken")
            if not token:
                return rows


def partition_parts(day: dt.date | str) -> tuple[str, str]:
    """``("cost_explorer_daily", "date=<YYYY-MM-DD>.parquet")``: a day's file under ``platform/cost/``."""
    day = day if isinstance(day, str) else day.isoformat()
    return ("cost_explorer_daily", f"date={day}.parquet")



def to_parquet(rows: list[dict[str, Any]]) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows, schema=SCHEMA), buffer)
    return buffer.getvalue()


def write_partition(config: PlatformConfig, day: dt.date, rows: list[dict[str, Any]]) -> str:
    """Replace the partition of ``day`` with ``rows`` (rows of other days are ignored); returns its URI,
    ``<lake root>/platform/cost/cost_explorer_daily/date=<YYYY-MM-DD>.parquet``."""
    return store.write_bytes(config, partition_parts(day), to_parquet([r for r in rows if r["date"] == day.isoformat()]))


def read_days(config: PlatformConfig, days: Iterable[dt.date]) -> tuple[list[dict[str, Any]], set[str]]:
    """``(rows, days found)`` of the stored partitions of ``days``; a day never materialized is absent."""
    rows: list[dict[str, Any]] = []
    found: set[str] = set()
    for day in days:
        data = store.read_bytes(config, partition_parts(day))
        if data is not None:
            found.add(day.isoformat())
            rows += pq.read_table(io.BytesIO(data)).to_pylist()
    return rows, found
