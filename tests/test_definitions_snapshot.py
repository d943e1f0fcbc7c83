"""Every code location of every stage, against a committed snapshot of its definitions.

For each stage and location: each asset's key, deps (with partition mappings), owners, kinds,
tags, group, partitions (kind, start, end, time zone), backfill policy, automation condition,
freshness and retry policy and check names, and the location's jobs, schedules, sensors and
resource keys. A change to definitions shows up in the diff of ``tests/snapshots/definitions.json``
for a reviewer to read; regenerate it with::

    UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest tests/test_definitions_snapshot.py
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import dagster as dg
import pytest

from assets.platform_cost import platform_definitions
from emr_platform.config import available_stages, load_config
from apps.workspace import location_definitions, own_keys
from emr_platform.workspace import workspace_locations

SNAPSHOT = Path(__file__).parent / "snapshots" / "definitions.json"


# The moment the partitions are described as of: the keys of a time window without an end (e.g.
# platform/cost/cost_explorer_daily's days up to yesterday) grow with the date, and the snapshot must not.
AS_OF = dt.datetime(2026, 11, 26, 12, tzinfo=dt.timezone.utc)


def partitions(node) -> dict | None:
    """Kind, count, first and last key (as of :data:`AS_OF`), start, end and time zone of an
    asset's partitions definition."""
    found = node.partitions_def
    if found is None:
        return None
    keys = found.get_partition_keys(current_time=AS_OF)
    described = {"kind": type(found).__name__, "count": len(keys), "first": keys[0], "last": keys[-1]}
    if isinstance(found, dg.TimeWindowPartitionsDefinition):
        described |= {
            "start": found.start.isoformat(),
            "end": found.end.isoformat() if found.end else None,
            "timezone": found.timezone,
        }
    return described


def describe(defs: dg.Definitions) -> dict:
    """The reviewable facts of one location's definitions (plain JSON)."""
    graph = defs.resolve_asset_graph()
    assets = {}
    for key in sorted(own_keys(defs), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        assets[key.to_user_string()] = {
            "deps": {  # each with its declared partition mapping, if any
                parent.to_user_string(): _mapping(defs, key, parent)
                for parent in sorted(node.parent_keys, key=lambda k: k.to_user_string())
            },
            "owners": list(node.owners),
            "kinds": sorted(node.kinds),
            "tags": dict(sorted(node.tags.items())),
            "group": node.group_name,
            "partitions": partitions(node),
            "backfill_policy": str(node.backfill_policy) if node.partitions_def and node.backfill_policy else None,
            "freshness": (
                {"fail_window": str(node.freshness_policy.fail_window.to_timedelta())}
                if node.freshness_policy is not None and hasattr(node.freshness_policy, "fail_window")
                else None
            ),
            "retry": _retry(defs, key),
            "automation": str(node.automation_condition.get_label() or type(node.automation_condition).__name__)
            if node.automation_condition
            else None,
            "checks": sorted(check.name for check in node.check_keys),
        }
    return {
        "assets": assets,
        "jobs": sorted(job.name for job in defs.resolve_all_job_defs() if not job.name.startswith("__")),
        "schedules": sorted(schedule.name for schedule in defs.schedules or []),
        "sensors": sorted(sensor.name for sensor in defs.sensors or []),
        "resources": sorted(defs.resources or {}),
    }


def _mapping(defs: dg.Definitions, key: dg.AssetKey, parent: dg.AssetKey) -> str | None:
    mapping = defs.resolve_assets_def(key).get_partition_mapping_for_dep(parent)
    return type(mapping).__name__ if mapping is not None else None


def _retry(defs: dg.Definitions, key: dg.AssetKey) -> dict | None:
    policy = defs.resolve_assets_def(key).op.retry_policy
    if policy is None:
        return None
    return {"max_retries": policy.max_retries, "delay": policy.delay, "backoff": policy.backoff.value if policy.backoff else None}


def current() -> dict:
    snapshot = {}
    for stage in available_stages():
        config = load_config(stage)
        locations = {}
        for name, module in workspace_locations().items():
            if module == "assets.platform_cost":
                defs = platform_definitions(config)
            else:
                defs = location_definitions(name, module, config)
            locations[name] = describe(defs)
        snapshot[stage] = locations
    return snapshot


@pytest.fixture(scope="module")
def definitions() -> dict:
    return current()


def test_definitions_match_the_committed_snapshot(definitions):
    text = json.dumps(definitions, indent=2, sort_keys=True) + "\n"
    if os.environ.get("UPDATE_SNAPSHOTS"):
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(text)
    assert SNAPSHOT.is_file(), "no snapshot yet: run with UPDATE_SNAPSHOTS=1"
    assert json.loads(SNAPSHOT.read_text()) == definitions, (
        "definitions changed: review, then regenerate with UPDATE_SNAPSHOTS=1 (see this module's docstring)"
    )


def test_snapshot_covers_every_stage_and_location(definitions):
    assert set(definitions) == set(available_stages())
    for stage, locations in definitions.items():
        assert set(locations) == set(workspace_locations()), stage
        assert all(location["assets"] for location in locations.values()), stage
