"""Lifecycle of the shared local Spark Connect server: first use, reuse, concurrent starters, kill, idle stop,
start in the background, and its class-data-sharing archive (recorded once, mapped after, never used broken)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from emr_platform.java import newest_java, require_java
from emr_platform.releases import installed_spark
from resources.spark_connect import SparkConnectServer, _alive, archive_key
from tests.conftest import C1_ALONE

# The servers of these tests answer a query or two each: C1 alone compiles what they run, and the
# life cycle is the same, for about a third less CPU per start (benchmarks/README.md); these tests
# start seven.
QUICK = {"cores": 1, "driver_memory_gb": 1, "confs": {"spark.driver.extraJavaOptions": C1_ALONE}}


def lease_in_subprocess(state: Path) -> subprocess.Popen:
    code = (
        "import json, sys\n"
        "from resources.spark_connect import SparkConnectServer\n"
        "with SparkConnectServer(sys.argv[1], **json.loads(sys.argv[2]), class_data_sharing=False).lease() as url:\n"
        "    print(url)\n"
    )
    return subprocess.Popen([sys.executable, "-c", code, str(state), json.dumps(QUICK)], stdout=subprocess.PIPE, text=True,
                            cwd=Path(__file__).resolve().parents[1])


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """A state dir whose servers record no CDS archive (the archive has a test of its own): stopping
    one that records waits 10-20 s for the JVM to write it."""
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
    server = SparkConnectServer(shared, **QUICK, class_data_sharing=False)
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
    server = SparkConnectServer(tmp_path, **QUICK, idle_timeout_seconds=2)
    with server.lease():
        state = server.status()
        time.sleep(4)  # a held lease keeps it alive past the idle timeout
        assert server.status() is not None
    # The watchdog kills the server, waits for it to exit (and write its CDS archive), then removes its state file.
    deadline = time.monotonic() + 120
    while (server.status() is not None or (tmp_path / "server.json").exists()) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert server.status() is None
    assert not _alive(state["pid"]) and not (tmp_path / "server.json").exists()
    log = (tmp_path / "watchdog.log").read_text()  # what the watchdog did, for a user wondering why
    assert f"stopping server pid {state['pid']}: idle for " in log and "Traceback" not in log, log


def mapped_archives(pid: int) -> set[str]:
    """The CDS archive files JVM ``pid`` has mapped into memory (what it really uses, not what it was told)."""
    return {line.split()[-1] for line in Path(f"/proc/{pid}/maps").read_text().splitlines() if line.endswith(".jsa")}


def count_rows(url: str) -> int:
    from pyspark.sql import SparkSession

    spark = SparkSession.builder.remote(url).getOrCreate()
    try:
        return spark.range(10).count()
    finally:
        spark.stop()


def test_class_data_sharing_archive_is_recorded_once_then_mapped_and_never_used_broken(tmp_path, monkeypatch):
    # A relative state dir, as stage local's default (.spark/connect): a published archive compared
    # as a relative path to its absolute self was deleted as stale at every stop.
    monkeypatch.chdir(tmp_path)
    server = SparkConnectServer("connect", **QUICK)
    archive = server.archive()
    with server.lease() as url:
        assert count_rows(url) == 10
        recording = Path(server.status()["cds_recording"])
        assert recording.parent == archive.parent and not archive.exists()
    server.stop()
    # written by the JVM at exit, published under its final name only once a JVM accepted it
    assert archive.is_file() and archive.stat().st_size > 10 * 2**20
    assert not list(archive.parent.glob("*.tmp"))

    with server.lease() as url:
        state = server.status()
        assert str(archive) in mapped_archives(state["pid"]) and state["cds_recording"] is None
        assert count_rows(url) == 10
    server.stop()

    # A partial archive makes a JVM abort at start: the start is retried without it, and it is dropped.
    archive.write_bytes(archive.read_bytes()[: 2**20])
    with server.lease() as url:
        assert count_rows(url) == 10
        assert str(archive) not in mapped_archives(server.status()["pid"])
    state = server.status()
    assert state["cds_recording"]  # and a new one is being recorded
    # Killed, not stopped: a stop would wait 10-20 s for the JVM to write an archive nothing reads.
    os.killpg(state["pid"], signal.SIGKILL)
    server.stop()
    assert server.status() is None


def newer_java_homes() -> list[Path]:
    """Java homes of Java 21 and later installed beside the default one, up to the newest the
    installed pyspark's Spark runs on (``newest_java``: 21 for Spark 4.0; a newer one is refused)."""
    newest = newest_java(installed_spark()[1])
    homes = []
    for release in sorted(Path("/usr/lib/jvm").glob("*/release")):
        version = next((line for line in release.read_text().splitlines() if line.startswith("JAVA_VERSION=")), "")
        major = version.removeprefix("JAVA_VERSION=").strip('"').split(".")[0]
        supported = major.isdigit() and int(major) >= 21 and (newest is None or int(major) <= newest)
        if supported and (release.parent / "bin" / "java").exists():
            homes.append(release.parent)
    return homes


@pytest.mark.parametrize("java_home", newer_java_homes(), ids=lambda home: home.name)
def test_a_broken_archive_is_recorded_again_on_newer_java(tmp_path, monkeypatch, java_home):
    # Java 21 and later only warn about an archive they cannot map and run without it: the start must
    # fail instead (-Xshare:on), so that it is retried without it and a new archive is recorded.
    monkeypatch.setenv("JAVA_HOME", str(java_home))
    require_java.cache_clear()
    try:
        server = SparkConnectServer(tmp_path, **QUICK)
        archive = server.archive()
        assert Path(require_java()).resolve().is_relative_to(java_home.resolve())
        archive.parent.mkdir(parents=True)
        archive.write_bytes(os.urandom(2**20))
        with server.lease() as url:
            assert count_rows(url) == 10
            state = server.status()
            assert str(archive) not in mapped_archives(state["pid"]) and not archive.exists()
            assert state["cds_recording"] and f"-XX:ArchiveClassesAtExit={state['cds_recording']}" in Path(
                f"/proc/{state['pid']}/cmdline").read_text().split("\0")
        os.killpg(state["pid"], signal.SIGKILL)  # not stopped: nothing reads the archive it would write
        server.stop()
    finally:
        require_java.cache_clear()


def test_archive_key_changes_with_java_and_pyspark(tmp_path):
    java, home = tmp_path / "java", tmp_path / "pyspark"
    java.write_text("a JVM")
    home.mkdir()
    key = archive_key(str(java), home, "4.3.0")
    assert key == archive_key(str(java), home, "4.3.0")
    assert key != archive_key(str(java), home, "4.3.1")
    assert key != archive_key(str(java), tmp_path, "4.3.0")
    os.utime(java, ns=(0, 0))  # an upgraded Java
    assert key != archive_key(str(java), home, "4.3.0")


def test_prestart_returns_at_once_and_the_first_lease_gets_its_server(tmp_path):
    server = SparkConnectServer(tmp_path, **QUICK, class_data_sharing=False)
    try:
        started = time.monotonic()
        thread = server.prestart()
        assert time.monotonic() - started < 1
        thread.join(timeout=240)
        state = server.status()
        assert state is not None  # started by the background thread, before any lease
        with server.lease() as url:
            assert url == f"sc://127.0.0.1:{state['port']}"
        assert (tmp_path / "server.log").read_text().count("SparkConnectServer: Starting Spark session") == 1
    finally:
        server.stop()
