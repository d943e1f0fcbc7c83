"""Partitions through Pipes on local Spark: what the job saw, what it wrote, and what it left alone."""

from __future__ import annotations

import dagster as dg

from tests.conftest import local_config
from tests.partition_probe import probe_definitions, run_partitions, written

NY = "-05:00"  # America/New_York in January


def _materializations(result) -> list[dg.AssetMaterialization]:
    return [e.event_specific_data.materialization for e in result.all_events if e.event_type_value == "ASSET_MATERIALIZATION"]


def test_one_partition_and_a_range_reach_the_job_and_only_they_are_written(tmp_path, connect_state):
    config = local_config(tmp_path / "lake", connect_state)
    defs, key = probe_definitions(config, "analytics", tmp_path / "location", params={"marker": "m"})
    table = tmp_path / "lake" / "analytics" / "probe" / "days"

    one = run_partitions(defs, "2013-01-05")
    assert one.success
    assert written(table) == {
        "2013-01-05": [("2013-01-05", "2013-01-05", f"2013-01-05T00:00:00{NY}", f"2013-01-06T00:00:00{NY}", "m")]
    }

    backfill = run_partitions(defs, "2013-01-10", "2013-01-12")  # one run over a range: a single-run backfill
    assert backfill.success
    days = written(table)
    assert sorted(days) == ["2013-01-05", "2013-01-10", "2013-01-11", "2013-01-12"]
    for day in ("2013-01-10", "2013-01-11", "2013-01-12"):
        assert days[day] == [("2013-01-10", "2013-01-12", f"2013-01-10T00:00:00{NY}", f"2013-01-13T00:00:00{NY}", "m")]
    materializations = _materializations(backfill)
    assert [m.partition for m in materializations] == ["2013-01-10", "2013-01-11", "2013-01-12"]
    assert {m.metadata["dagster/row_count"].value for m in materializations} == {3}  # the range's rows
    assert {m.metadata["partition_range"].value for m in materializations} == {"2013-01-10...2013-01-12"}
    checks = [e.event_specific_data for e in backfill.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"]
    assert {(c.check_name, c.passed) for c in checks} == {("non_empty", True), ("unique_day", True)}


def test_rerunning_one_day_or_failing_one_day_leaves_every_other_day_as_it_was(tmp_path, connect_state):
    config = local_config(tmp_path / "lake", connect_state)
    table = tmp_path / "lake" / "analytics" / "probe" / "days"
    policy = {"policy": "multi_run", "max_partitions_per_run": 1}
    first, key = probe_definitions(config, "analytics", tmp_path / "a", params={"marker": "first"}, backfill=policy)
    assert first.resolve_assets_def(key).backfill_policy == dg.BackfillPolicy.multi_run(1)
    assert run_partitions(first, "2013-01-01", "2013-01-03").success
    before = written(table)
    files_before = {p.name: sorted(f.name for f in p.iterdir()) for p in table.glob("day=*")}

    # Re-running one day replaces that day only.
    again, _ = probe_definitions(config, "analytics", tmp_path / "b", params={"marker": "again"}, backfill=policy)
    assert run_partitions(again, "2013-01-02").success
    after = written(table)
    assert after["2013-01-01"] == before["2013-01-01"] and after["2013-01-03"] == before["2013-01-03"]
    assert [row[-1] for row in after["2013-01-02"]] == ["again"]
    files_after = {p.name: sorted(f.name for f in p.iterdir()) for p in table.glob("day=*")}
    assert files_after["day=2013-01-01"] == files_before["day=2013-01-01"]
    assert files_after["day=2013-01-03"] == files_before["day=2013-01-03"]

    # A multi-run backfill (one run per day) whose first day fails: the failed day keeps its data,
    # the next day's run still replaces its own.
    failing, _ = probe_definitions(
        config, "analytics", tmp_path / "c", params={"marker": "second", "fail_on": "2013-01-01"}, backfill=policy
    )
    outcomes = {day: run_partitions(failing, day).success for day in ("2013-01-01", "2013-01-03")}
    assert outcomes == {"2013-01-01": False, "2013-01-03": True}
    last = written(table)
    assert last["2013-01-01"] == before["2013-01-01"] and last["2013-01-02"] == after["2013-01-02"]
    assert [row[-1] for row in last["2013-01-03"]] == ["second"]
