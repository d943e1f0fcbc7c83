"""The platform's main job: materialize every asset of every code location, print a summary.

``python -m emr_platform.apps.demo`` (what ``make demo`` runs) loads the code locations listed
in ``workspace.yaml``, runs each location's ``all_assets`` job in dependency order
(upstream teams first) on the persistent Dagster instance in ``$DAGSTER_HOME`` (so
``make ui`` shows the runs), and prints one row per asset: key, rows, asset checks
passed/failed, seconds. Exits 1 if any asset or check failed.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
from rich.console import Console
from rich.table import Table

from emr_platform.config import REPO_ROOT, PlatformConfig, current_stage, load_config, used_substrates
from emr_platform.cost.report import render_text
from emr_platform.cost.month_report import month_to_date_report
from emr_platform.java import require_java
from emr_platform.locations.factory import JOB_NAME
from emr_platform.locations.workspace import dependency_order, location_definitions, own_keys
from emr_platform.workspace import workspace_locations
from resources.local_spark import LocalSparkLauncher

# The console shows warnings and errors only; every event still lands in the instance (make ui).
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


@dataclass
class AssetOutcome:
    """What one asset's materialization produced; ``seconds`` is the Spark job's wall time."""

    key: str
    location: str
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


def materialize_locations(
    instance: dg.DagsterInstance,
    config: PlatformConfig | None = None,
    locations: dict[str, str] | None = None,
    max_concurrent: int = 1,
) -> list[AssetOutcome]:
    """Run the ``all_assets`` job of each location (``{name: module}``, default: the workspace)
    in dependency order; one outcome per asset.

    Assets run one at a time in this process unless ``max_concurrent`` > 1 (Dagster's
    multiprocess executor; ``instance`` must then be persistent). Measured on 2 cores, one at
    a time is faster: each local Spark job already uses every core, and a step process costs
    about 3 s of CPU to import dagster (see README, Benchmarks).
    """
    # The local Spark Connect server's JVM starts now, while Dagster loads and prepares the first asset.
    if "local" in used_substrates(stage := config or load_config()) and stage.local_spark.mode == "connect":
        LocalSparkLauncher(stage.local_spark).server().prestart()
    locations = locations or workspace_locations()
    executor = {"in_process": {}} if max_concurrent == 1 else {"multiprocess": {"max_concurrent": max_concurrent}}
    run_config = {**QUIET, "execution": {"config": executor}}
    config_json = config.model_dump_json() if config else None
    defs = {name: location_definitions(name, module, config) for name, module in locations.items()}
    outcomes: list[AssetOutcome] = []
    for name in dependency_order(defs):
        job = dg.build_reconstructable_job(
            __name__, location_job.__name__, reconstructable_args=(name, locations[name], config_json)
        )
        with dg.execute_job(job, instance=instance, run_config=run_config, tags={"location": name}) as result:
            outcomes += _outcomes(name, own_keys(defs[name]), result)
    return outcomes


def _outcomes(location: str, keys: set[dg.AssetKey], result) -> list[AssetOutcome]:
    by_key = {key: AssetOutcome(key.to_user_string(), location) for key in sorted(keys, key=str)}
    by_step = {key.to_python_identifier(): found for key, found in by_key.items()}
    for event in result.all_events:
        data = event.event_specific_data
        if event.event_type_value == "ASSET_MATERIALIZATION":
            found = by_key[data.materialization.asset_key]
            metadata = data.materialization.metadata
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
    for column, justify in (("asset key", "left"), ("rows", "right"), ("checks passed", "right"),
                            ("checks failed", "right"), ("seconds", "right"), ("status", "left")):
        table.add_column(column, justify=justify)
    for o in outcomes:
        status = "[green]ok[/green]" if o.ok else f"[red]{'checks failed: ' + ', '.join(o.checks_failed) if o.materialized else o.error or 'not run'}[/red]"
        table.add_row(
            o.key,
            f"{o.rows:,}" if o.rows is not None else "-",
            str(len(o.checks_passed)),
            str(len(o.checks_failed)),
            f"{o.seconds:.1f}" if o.seconds is not None else "-",
            status,
        )
    return table


def main() -> int:
    console = Console(width=None if sys.stdout.isatty() else 120)
    require_java()
    os.environ.setdefault("DAGSTER_HOME", str(REPO_ROOT / ".dagster_home"))
    Path(os.environ["DAGSTER_HOME"]).mkdir(parents=True, exist_ok=True)
    console.print(f"stage [bold]{current_stage()}[/bold], Dagster instance {os.environ['DAGSTER_HOME']}")
    started = time.monotonic()
    with dg.DagsterInstance.get() as instance:
        outcomes = materialize_locations(instance)
        console.print(summary_table(outcomes, time.monotonic() - started))
        console.print(render_text(month_to_date_report(instance)), highlight=False, markup=False)
    return 0 if outcomes and all(o.ok for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
