"""Benchmark: a year's backfill of ``flights_clean`` and ``route_delays_daily`` on local Spark,
as one run per asset (``BackfillPolicy.single_run()``, the platform's default) against one run
per day (what a backfill without a policy, or ``multi_run(1)``, launches).

In one process, on one warm Spark Connect server and fresh lakes under a temp directory:
the raw tables are ingested once (not timed); then (a) each asset over all 365 days in one run;
(b) each asset one run per day over ``--sample-days`` days spread over the year, the per-day
mean extrapolated to 365 days (stated as such in the output). Prints wall times, the ratio
(b)/(a), the number of EMR launches each policy makes, and what each would cost on EMR
Serverless at the team's job size: every launch bills each worker (driver + ``min_executors``)
at least one minute, and the local wall time stands for the EMR job's duration (EMR's own
start-up per job run, typically tens of seconds, would widen the gap further).

    python benchmarks/backfill.py [--sample-days 6]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import dagster as dg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from emr_platform import pricing  # noqa: E402
from emr_platform.config import load_config  # noqa: E402
from apps.workspace import location_definitions  # noqa: E402
from resources.spark_connect import SparkConnectServer  # noqa: E402

TEAM = "data-engineering"
RAW = [dg.AssetKey([TEAM, "raw", t]) for t in ("flights", "airlines", "airports")]
DAILY = [dg.AssetKey([TEAM, "core", t]) for t in ("flights_clean", "route_delays_daily")]
QUIET = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}


def config_for(lake: Path, state: Path):
    config = load_config("local")
    return config.model_copy(
        update={
            "lake": config.lake.model_copy(update={"root": str(lake)}),
            "local_spark": config.local_spark.model_copy(update={"state_dir": str(state)}),
        }
    )


def timed_run(job, instance, assets, tags) -> float:
    started = time.monotonic()
    result = job.execute_in_process(instance=instance, asset_selection=assets, tags=tags, run_config=QUIET)
    assert result.success, f"{assets} {tags} failed"
    return time.monotonic() - started


def worker_cost(seconds: float, size) -> float:
    """USD of one EMR Serverless job run of ``seconds`` at job size ``size``: driver + ``min_executors``
    workers, each billed per second with the one-minute minimum."""
    billed_hours = pricing.billable_seconds(seconds) / 3600
    workers = [(size.driver_cores, size.driver_memory_gb)] + [(size.executor_cores, size.executor_memory_gb)] * max(size.min_executors, 1)
    return sum(pricing.serverless_cost(cores * billed_hours, memory * billed_hours) for cores, memory in workers)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample-days", type=int, default=6, help="days run one by one (extrapolated to the year)")
    args = parser.parse_args()
    base = load_config("local")
    size_name = base.teams[TEAM].job_size
    size = base.job_sizes[size_name]
    with tempfile.TemporaryDirectory(prefix="bench-backfill-") as tmp:
        state = Path(tmp) / "connect"
        try:
            with dg.DagsterInstance.ephemeral() as instance:
                single = config_for(Path(tmp) / "single", state)
                defs = location_definitions(TEAM, f"assets.{TEAM.replace('-', '_')}", single)
                job = defs.resolve_job_def("all_assets")
                keys = defs.resolve_assets_def(DAILY[0]).partitions_def.get_partition_keys()
                print(f"ingesting raw tables (not timed) ...", flush=True)
                timed_run(job, instance, RAW, {})
                year = {"dagster/asset_partition_range_start": keys[0], "dagster/asset_partition_range_end": keys[-1]}
                single_seconds = {key: timed_run(job, instance, [key], year) for key in DAILY}

                per_day = config_for(Path(tmp) / "per-day", state)
                defs = location_definitions(TEAM, f"assets.{TEAM.replace('-', '_')}", per_day)
                job = defs.resolve_job_def("all_assets")
                timed_run(job, instance, RAW, {})
                step = len(keys) // args.sample_days
                sample = [keys[i * step] for i in range(args.sample_days)]
                day_seconds = {key: [] for key in DAILY}
                for day in sample:
                    for key in DAILY:
                        day_seconds[key].append(timed_run(job, instance, [key], {"dagster/partition": day}))
        finally:
            SparkConnectServer(state).stop()

    days = len(keys)
    a = sum(single_seconds.values())
    mean_day = {key: statistics.mean(values) for key, values in day_seconds.items()}
    b = sum(mean_day.values()) * days
    cost_a = sum(worker_cost(s, size) for s in single_seconds.values())
    cost_b = sum(worker_cost(s, size) for s in mean_day.values()) * days
    print(f"\nyear's backfill of {', '.join(k.to_user_string() for k in DAILY)} ({days} days each), local Spark")
    for key in DAILY:
        print(f"  {key.to_user_string():45s} single run {single_seconds[key]:7.1f} s | per day {mean_day[key]:5.2f} s "
              f"(mean of {len(sample)} days: {', '.join(f'{s:.1f}' for s in day_seconds[key])})")
    print(f"(a) single-run backfill: {a:8.1f} s wall, {len(DAILY)} EMR launches")
    print(f"(b) one run per day:     {b:8.1f} s wall (EXTRAPOLATED from {len(sample)} sampled days x {days}), "
          f"{len(DAILY) * days} EMR launches")
    print(f"ratio (b)/(a): {b / a:.1f}x (extrapolated)")
    print(f"EMR Serverless at job size {size_name!r} (driver + {max(size.min_executors, 1)} executor(s), 1-minute minimum per worker): "
          f"(a) USD {cost_a:.2f}, (b) USD {cost_b:.2f} ({cost_b / cost_a:.0f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
