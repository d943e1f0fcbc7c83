"""Benchmark: how long ``emr-platform spark session`` takes to a Spark prompt, and its first query.

Runs the real command as a process (``python -m apps.cli``) with the query
``spark.range(1000).count()`` on its stdin, three ways, ``--repeat`` times each:

- local, cold: the local Spark Connect server stopped first (the command starts it);
- local, warm: the server already running;
- simulator: stage dev against moto on 127.0.0.1 with the EMR simulator of ``tests/emr`` playing
  EMR Serverless (the session's endpoint is a warm local Spark Connect server, so this measures the
  platform's requests and polling, not EMR's own start-up).

"ready" is the wall time from spawning the command to its ``ready ...`` line (process start,
imports, config, session start); "first query" is from that line to the query's answer.
Prints min/median/max of each.

    python benchmarks/interactive_session.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

QUERY = "spark.range(1000).count()\n"


def timed_session(repo: Path, *args: str, env: dict[str, str] | None = None) -> tuple[float, float]:
    """(seconds to the ready line, seconds from it to the first answer) of one session command."""
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "apps.cli", "--root", str(repo), "spark", "session", *args],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
        env={**os.environ, **(env or {})},
    )
    ready = threading.Event()
    ready_at: list[float] = []

    def watch_stderr() -> None:
        for line in proc.stderr:
            if line.startswith("ready ") and not ready_at:
                ready_at.append(time.monotonic())
                ready.set()

    threading.Thread(target=watch_stderr, daemon=True).start()
    proc.stdin.write(QUERY)
    proc.stdin.flush()
    answered = None
    for line in proc.stdout:
        if "1000" in line:
            answered = time.monotonic()
            break
    proc.stdin.close()
    proc.wait(120)
    ready.wait(5)
    if answered is None or not ready_at:
        raise RuntimeError(f"the session command did not answer (exit {proc.returncode})")
    return ready_at[0] - started, answered - ready_at[0]


def repository(tmp: Path) -> Path:
    from tests.conftest import copy_config

    return copy_config(tmp / "repo")


def local(repo: Path, repeat: int) -> dict[str, list[tuple[float, float]]]:
    from emr_platform.config import load_config
    from resources.local_spark import LocalSparkLauncher

    server = LocalSparkLauncher(load_config("local", root=repo).local_spark).server()
    results: dict[str, list[tuple[float, float]]] = {"local, cold": [], "local, warm": []}
    for _ in range(repeat):
        server.stop()
        results["local, cold"].append(timed_session(repo, "--team", "data-science"))
        results["local, warm"].append(timed_session(repo, "--team", "data-science"))
    server.stop()
    return results


def simulator(repo: Path, tmp: Path, repeat: int) -> list[tuple[float, float]]:
    import urllib.request

    import yaml
    from moto.server import ThreadedMotoServer

    from emr_platform.config import deep_merge
    from resources.spark_connect import SparkConnectServer
    from tests.conftest import free_port
    from tests.emr import sessions
    from tests.emr.conftest import build_infra, dev_config
    from tests.emr.harness import EmrSimulator
    from tests.interactive.conftest import enable_sessions

    sessions.install()
    port = free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    moto.start()
    endpoint = f"http://127.0.0.1:{port}"
    aws = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_ENDPOINT_URL": endpoint}
    os.environ.update(aws)
    stage_file = repo / "stages" / "dev.yml"
    stage = deep_merge(yaml.safe_load(stage_file.read_text()), {"lake": {"root": str(tmp / "lake")},
                                                                "emr_serverless": {"poll_interval_seconds": 0.25}})
    stage_file.write_text(yaml.safe_dump(stage))
    server = SparkConnectServer(tmp / "connect")
    timings = []
    try:
        with server.lease() as remote, EmrSimulator(endpoint, remote):
            for _ in range(repeat):
                urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"))
                config = dev_config(tmp / "lake")
                build_infra(config)
                enable_sessions(config)
                timings.append(timed_session(repo, "--team", "data-science", "--stage", "dev", env=aws))
    finally:
        server.stop()
        moto.stop()
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        repo = repository(tmp)
        results = local(repo, args.repeat)
        results["simulator (EMR Serverless)"] = simulator(repo, tmp, args.repeat)
    print(f"{'path':<28} {'ready s (min/median/max)':<28} first query s (min/median/max)")
    for name, runs in results.items():
        cells = []
        for values in ([r for r, _ in runs], [q for _, q in runs]):
            cells.append(f"{min(values):.2f}/{statistics.median(values):.2f}/{max(values):.2f}")
        print(f"{name:<28} {cells[0]:<28} {cells[1]}")


if __name__ == "__main__":
    main()
