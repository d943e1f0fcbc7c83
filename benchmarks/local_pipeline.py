"""Benchmark: the flights pipeline of every team on warm Spark Connect vs a fresh Spark session per job.

(a) the platform path: every code location's ``all_assets`` job through ``LocalSparkLauncher``
    in ``connect`` mode, twice: from a stopped server (the run pays one JVM start-up), then
    again with the server still running (what a later run or ``dagster dev`` user pays);
(b) the baseline: the same job scripts one after another, each ``python script.py`` with a
    fresh local-mode SparkSession (the launcher's ``classic`` mode), on the same data.

Both run the pipeline as a user first runs it, ``make demo``: the unpartitioned assets whole and
each partitioned asset backfilled over the demo's window (one month, ``DEMO_WINDOW``) in one run;
``--all`` backfills every partition of 2013 instead. Both run in this process tree, in the same
run, on fresh lakes under a temp directory.
Prints each wall time, the ratio (a)/(b) with min/median/max over ``--repeat`` runs, peak
resident memory of the process tree (bytes, sampled from /proc every 0.2 s), and checks
that both paths produced the same row counts and check results.

The server's state dir is kept across the runs, as ``.spark/connect`` is across a user's runs. The
benchmark starts with a first run after install: the pipeline from a stopped server that has no
class-data-sharing archive yet, timed and printed on its own line, whose server records the
archive when it is stopped. Each repetition then measures (a) from a stopped server that maps it
(the start of every later day: the server stops after ``idle_timeout_seconds``), (a) with the
server running, and (b). ``--no-first-run`` skips the first run (repetition 1 then records).

    python benchmarks/local_pipeline.py [--repeat 3] [--max-concurrent N] [--all]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import dagster as dg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from emr_platform.config import load_config  # noqa: E402
from apps.demo import DEMO_WINDOW, materialize_locations  # noqa: E402
from resources.spark_connect import SparkConnectServer  # noqa: E402


def tree_rss_bytes(root_pid: int) -> int:
    """Resident memory of ``root_pid`` and all its descendants (and detached servers we started)."""
    parents, rss = {}, {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        parents[int(entry.name)] = (int(fields[1]), int(fields[3]))  # ppid, process group
        kb = next((line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")), "0")
        rss[int(entry.name)] = int(kb) * 1024
    ours = {root_pid}
    changed = True
    while changed:
        changed = False
        for pid, (ppid, _) in parents.items():
            if pid not in ours and ppid in ours:
                ours.add(pid)
                changed = True
    groups = {pid for pid in ours}  # servers run in their own session but are our descendants' groups
    ours |= {pid for pid, (_, pgid) in parents.items() if pgid in groups}
    return sum(rss.get(pid, 0) for pid in ours)


class PeakMemory:
    def __init__(self):
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.wait(0.2):
            self.peak = max(self.peak, tree_rss_bytes(os.getpid()))

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def run(mode: str, work: Path, state: Path, max_concurrent: int, window) -> tuple[float, dict, int]:
    """Materialize the whole pipeline on a fresh lake under ``work``, the partitioned assets over
    ``window`` (None: every partition); (seconds, results, peak RSS bytes)."""
    config = load_config("local")
    config = config.model_copy(
        update={
            "lake": config.lake.model_copy(update={"root": str(work / "lake")}),
            # (b) starts each script as a new Python process, as a script run without the platform does.
            "local_spark": config.local_spark.model_copy(
                update={"mode": mode, "state_dir": str(state), "forkserver": mode == "connect"}
            ),
        }
    )
    teams = {team: f"assets.{team.replace('-', '_')}" for team in config.teams}
    with dg.instance_for_test() as instance, PeakMemory() as memory:
        started = time.monotonic()
        outcomes = materialize_locations(instance, config, teams, max_concurrent=max_concurrent, window=window)
        seconds = time.monotonic() - started
    results = {o.key: (o.rows, tuple(sorted(o.checks_passed)), tuple(sorted(o.checks_failed)), o.ok) for o in outcomes}
    return seconds, results, memory.peak


def maps_archive(server: SparkConnectServer) -> bool:
    """Whether the running server's JVM has its class-data-sharing archive mapped (not just passed)."""
    state = server.status()
    maps = Path(f"/proc/{state['pid']}/maps").read_text() if state else ""
    return str(server.archive()) in maps


def spread(values: list[float]) -> str:
    return f"min {min(values):.3f}, median {statistics.median(values):.3f}, max {max(values):.3f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--max-concurrent", type=int, default=1, help="concurrent assets in (a); >1 uses step processes")
    parser.add_argument("--all", action="store_true", help="backfill every partition of 2013, not the demo's month")
    parser.add_argument("--no-first-run", action="store_true", help="no first run to record the CDS archive")
    args = parser.parse_args()
    window = None if args.all else DEMO_WINDOW
    print(f"partitioned assets over {'every partition' if window is None else ' to '.join(map(str, window))}", flush=True)
    cold, warm, baselines = [], [], []
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        state = Path(tmp) / "connect"
        if not args.no_first_run:
            try:
                first, results_first, _ = run("connect", Path(tmp) / "first", state, args.max_concurrent, window)
            finally:
                SparkConnectServer(state).stop()  # the JVM writes its archive as it exits
            shutil.rmtree(Path(tmp) / "first")
            print(f"first run after install: (a) from a stopped server with no CDS archive yet {first:6.1f} s "
                  f"(its server recorded the archive: {SparkConnectServer(state).archive().is_file()})", flush=True)
        for rep in range(1, args.repeat + 1):
            work = Path(tmp) / f"rep{rep}"
            try:
                a_cold, results_cold, peak_a = run("connect", work / "a1", state, args.max_concurrent, window)
                archived = maps_archive(SparkConnectServer(state))
                a_warm, results_warm, _ = run("connect", work / "a2", state, args.max_concurrent, window)
            finally:
                SparkConnectServer(state).stop()
            b, results_b, peak_b = run("classic", work / "b", state, 1, window)
            shutil.rmtree(work)
            same = results_cold == results_warm == results_b and all(r[3] for r in results_b.values())
            same = same and (args.no_first_run or results_first == results_b)
            baselines.append(b)
            cold.append(a_cold / b)
            warm.append(a_warm / b)
            print(
                f"rep {rep}: (a) warm Spark Connect, server started by the run {a_cold:6.1f} s "
                f"({'CDS archive mapped' if archived else 'no CDS archive'}) / already running "
                f"{a_warm:6.1f} s, peak RSS {peak_a / 2**30:.2f} GiB | (b) fresh session per job {b:6.1f} s, "
                f"peak RSS {peak_b / 2**30:.2f} GiB | (a)/(b) = {a_cold / b:.3f} / {a_warm / b:.3f} | "
                f"{len(results_b)} assets, same rows and checks: {same}",
                flush=True,
            )
            if not same:
                print(f"  differ: {set(results_cold.items()) ^ set(results_b.items())}")
                return 1
    if not args.no_first_run:
        print(f"first run after install / (b) of rep 1: {first / baselines[0]:.3f}")
    print(f"(a)/(b), server started by the run: {spread(cold)}")
    print(f"(a)/(b), server already running:    {spread(warm)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
