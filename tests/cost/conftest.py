"""Fixtures of the cost tests: moto as a real HTTP server on 127.0.0.1 and stage configs on tmp_path lakes."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import requests
from moto.server import ThreadedMotoServer

from emr_platform.config import PlatformConfig, load_config


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def moto_server() -> str:
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def aws(moto_server: str, monkeypatch) -> str:
    """The endpoint of an empty moto server, with boto3 pointed at it."""
    requests.post(f"{moto_server}/moto-api/reset", timeout=10).raise_for_status()
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": moto_server,
    }.items():
        monkeypatch.setenv(name, value)
    return moto_server


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
