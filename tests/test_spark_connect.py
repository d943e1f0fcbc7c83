"""Lifecycle of the shared local Spark Connect server: first use, reuse, concurrent starters, kill, idle stop."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from resources.spark_connect import SparkConnectServer, _alive

def lease_in_subprocess(state: Path) -> subprocess.Popen:
    code = (
        "import sys\n"
        "from resources.spark_connect import SparkConnectServer\n"
        "with SparkConnectServer(sys.argv[1], cores=1, driver_memory_gb=1).lease() as url:\n"
        "    print(url)\n"
    )
    return subprocess.Popen([sys.executable, "-c", code, str(state)], stdout=subprocess.PIPE, text=True,
                            cwd=Path(__file__).resolve().parents[1])


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    state = tmp_path_factory.mktemp("connect")
    yield state
    SparkConnectServer(state).stop()


def test_two_concurrent_starters_get_one_server(shared):
    first, second = lease_in_subprocess(shared), lease_in_subprocess(shared)
    urls = {first.communicate(timeout=240)[0].strip(), second.communicate(timeout=240)[0].strip()}
    assert first.returncode == second.returncode == 0
    state = json.loads((shared / "server.json").read_text())
    assert urls == {f"sc://127.0.0.1:{state['port']}"}
    assert state["port"] != 15002 and _alive(state["pid"]) and _alive(state["watchdog_pid"])
    # exactly one server JVM was ever started in this state dir
    assert (shared / "server.log").read_text().count("Spark Connect server started at") == 1


def test_reuse_then_transparent_restart_after_kill(shared):
    server = SparkConnectServer(shared, cores=1, driver_memory_gb=1)
    before = server.status()
    with server.lease() as url:
        assert url == f"sc://127.0.0.1:{before['port']}"
        assert server.status()["pid"] == before["pid"]  # reused, not restarted
    os.killpg(before["pid"], signal.SIGKILL)
    deadline = time.monotonic() + 10
    while _alive(before["pid"]) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert server.status() is None
    with server.lease() as url:
        after = server.status()
        assert after["pid"] != before["pid"] and url == f"sc://127.0.0.1:{after['port']}"
        from pyspark.sql import SparkSession

        spark = SparkSession.builder.remote(url).getOrCreate()
        assert spark.range(10).count() == 10
        spark.stop()


def test_idle_server_stops_by_itself(tmp_path):
    server = SparkConnectServer(tmp_path, cores=1, driver_memory_gb=1, idle_timeout_seconds=2)
    with server.lease():
        state = server.status()
        time.sleep(4)  # a held lease keeps it alive past the idle timeout
        assert server.status() is not None
    # The watchdog kills the server, waits for it to exit, then removes its state file.
    deadline = time.monotonic() + 30
    while (server.status() is not None or (tmp_path / "server.json").exists()) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert server.status() is None
    assert not _alive(state["pid"]) and not (tmp_path / "server.json").exists()
