"""Helpers of the cost tests: seeded Cost Explorer results and stage configs on tmp_path lakes (moto: tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from emr_platform.config import PlatformConfig, load_config


def seed_cost_and_usage(endpoint: str, *responses: dict) -> None:
    """Queue GetCostAndUsage responses: moto binds each to the body of the next request it has not seen."""
    reply = requests.post(f"{endpoint}/moto-api/static/ce/cost-and-usage-results", json={"results": list(responses)}, timeout=10)
    assert reply.status_code == 201, reply.text


def stage_config(stage: str, lake_root: str | Path, **cost) -> PlatformConfig:
    """Stage ``stage`` with its lake at ``lake_root`` and ``cost`` settings overridden."""
    config = load_config(stage)
    return config.model_copy(
        update={
            "lake": config.lake.model_copy(update={"root": str(lake_root)}),
            "cost": config.cost.model_copy(update=cost),
        }
    )


def day_result(day: str, groups: list[tuple[str, str, float]], estimated: bool = False) -> dict:
    """One ``ResultsByTime`` entry: ``groups`` of (team tag value or "", service, USD)."""
    end = {"2026-11-01": "2026-11-02", "2026-11-02": "2026-11-03", "2026-11-03": "2026-11-04"}[day]
    return {
        "TimePeriod": {"Start": day, "End": end},
        "Total": {},
        "Groups": [
            {
                "Keys": [f"team${team}", service],
                "Metrics": {"UnblendedCost": {"Amount": str(usd), "Unit": "USD"}, "AmortizedCost": {"Amount": str(usd), "Unit": "USD"}},
            }
            for team, service, usd in groups
        ],
        "Estimated": estimated,
    }
