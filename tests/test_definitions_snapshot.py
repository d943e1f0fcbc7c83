"""Every code location of every stage, against a committed snapshot of its definitions.

For each stage and location: each asset's key, deps (with partition mappings), owners, kinds,
tags, group, partitions (kind, start, end, time zone), backfill policy, automation condition,
freshness and retry policy and check names, and the location's jobs, schedules, sensors and
resource keys. A change to definitions fails the test until the snapshot is rewritten, and then
shows up in the diff of ``tests/snapshots/definitions.json`` for a reviewer to read. Rewrite it
with syrupy's ``--snapshot-update``::

    .venv/bin/python -m pytest tests/test_definitions_snapshot.py --snapshot-update
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
from syrupy.extensions.json import JSONSnapshotExtension

from assets.platform_cost import platform_definitions
from emr_platform.config import REPO_ROOT, available_stages, load_config
from apps.workspace import location_definitions, own_keys
from emr_platform.workspace import workspace_locations

SNAPSHOT = Path(__file__).parent / "snapshots" / "definitions.json"


class DefinitionsSnapshot(JSONSnapshotExtension):
    """syrupy's JSON snapshot (keys sorted, two-space indent), kept in one reviewable file,
    :data:`SNAPSHOT`, rather than syrupy's default ``__snapshots__/<module>/<test>.json``."""

    @classmethod
    def dirname(cls, *, test_location) -> str:
        return str(Path(test_location.filepath).parent / SNAPSHOT.parent.name)

    @classmethod
    def get_snapshot_name(cls, *, test_location, index=0) -> str:
        return SNAPSHOT.stem


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


@pytest.fixture
def snapshot(snapshot):
    return snapshot.use_extension(DefinitionsSnapshot)


def test_definitions_match_the_committed_snapshot(definitions, snapshot):
    assert definitions == snapshot


def test_snapshot_covers_every_stage_and_location(definitions):
    # Stage files and teams are counted from the files themselves, not by the functions that
    # built ``definitions``: a stage file skipped by its name or a team left out of workspace.yaml fails.
    assert set(definitions) == {path.stem for path in (REPO_ROOT / "stages").glob("*.yml")}
    for stage, locations in definitions.items():
        assert set(locations) == set(load_config(stage).teams) | {"platform"}, stage
        for name, location in locations.items():
            assert location["assets"], (stage, name)
            # Each location holds its own team's assets only (keys are [team, domain, table]).
            assert {key.split("/")[0] for key in location["assets"]} == {name}, (stage, name)


def test_a_changed_snapshot_fails_until_updated(tmp_path):
    """The snapshot test fails against an altered copy of the snapshot and leaves it as it is;
    only ``--snapshot-update`` rewrites it, back to the committed text."""
    (tmp_path / SNAPSHOT.parent.name).mkdir()
    shutil.copy(__file__, tmp_path / Path(__file__).name)
    altered = tmp_path / SNAPSHOT.parent.name / SNAPSHOT.name
    committed = SNAPSHOT.read_text()
    first_stage = sorted(available_stages())[0]
    changed = committed.replace(f'"stage": "{first_stage}"', '"stage": "elsewhere"', 1)
    assert changed != committed
    altered.write_text(changed)

    # Without this run's PYTEST_XDIST_WORKER & co., syrupy in the child reports as a session of its own.
    env = {name: value for name, value in os.environ.items() if not name.startswith("PYTEST_")}

    def run(*options: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist", *options,
             f"{Path(__file__).name}::test_definitions_match_the_committed_snapshot"],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
        )

    failed = run()
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "1 snapshot failed" in failed.stdout, failed.stdout
    assert '-             "stage": "elsewhere",' in failed.stdout, failed.stdout  # the diff a reviewer reads
    assert altered.read_text() == changed

    updated = run("--snapshot-update")
    assert updated.returncode == 0, updated.stdout + updated.stderr
    assert altered.read_text() == committed
