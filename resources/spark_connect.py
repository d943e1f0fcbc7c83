"""One warm Spark Connect server on 127.0.0.1, shared by every local job of every run.

Start-up of a Spark session costs about 7 s of JVM start each job; a Spark Connect server
pays it once. :class:`SparkConnectServer` starts the server (pyspark's own
``SparkConnectServer`` class through ``bin/spark-submit``) on first use, on a free
loopback port, with a watchdog process that stops it after ``idle_timeout_seconds``
without a running job. State lives in ``state_dir``:

- ``server.lock``: an ``flock`` serializing start, stop and lease creation across processes;
- ``server.json``: ``{"pid", "port", "watchdog_pid", "started_at", "settings"}`` of the live server;
- ``leases/<pid>-<n>``: one file per running job; ``last_used``: touched when a job ends;
- ``server.log``: the server's own log.

A dead server (killed, crashed) is noticed by the next lease and restarted transparently.
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from emr_platform.java import require_java
from emr_platform.substrates.local import LocalSparkSettings

SERVER_CLASS = "org.apache.spark.sql.connect.service.SparkConnectServer"
START_TIMEOUT_SECONDS = 180
WATCH_INTERVAL_SECONDS = 2.0
_lease_counter = itertools.count()


def _alive(pid: int | None) -> bool:
    """Whether process ``pid`` runs; a zombie (exited, not yet reaped by its parent) counts as dead."""
    if not pid:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    if stat.rsplit(")", 1)[1].split()[0] == "Z":
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # reap it if it is ours
        return False
    return True


def _port_open(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        return True
    return False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _spark_home() -> Path:
    import pyspark

    return Path(pyspark.__file__).parent


class SparkConnectServer:
    """Handle on the shared server of ``state_dir`` (cheap to create; all state is on disk).

    ``cores`` is the ``local[N]`` parallelism, ``driver_memory_gb`` the JVM heap in GiB,
    ``idle_timeout_seconds`` how long the server lives without a job, ``confs`` extra
    Spark confs. Raises ``RuntimeError`` (with the server log's tail) if it cannot start.
    """

    def __init__(
        self,
        state_dir: Path | str,
        cores: int = 2,
        driver_memory_gb: int = 2,
        idle_timeout_seconds: int = 900,
        confs: dict[str, str] | None = None,
    ):
        self.state_dir = Path(state_dir)
        self.cores, self.driver_memory_gb = cores, driver_memory_gb
        self.idle_timeout_seconds = idle_timeout_seconds
        self.confs = confs or {}
        self.leases = self.state_dir / "leases"

    # -- public ---------------------------------------------------------------------------
    @contextlib.contextmanager
    def lease(self) -> Iterator[str]:
        """Hold the server for one job: yields its ``sc://127.0.0.1:<port>`` URL.

        The server is started (or restarted) if needed; while any lease is held the
        watchdog will not stop it.
        """
        with self._locked():
            state = self._ensure_running()
            self.leases.mkdir(parents=True, exist_ok=True)
            lease = self.leases / f"{os.getpid()}-{next(_lease_counter)}"
            lease.touch()
        try:
            yield f"sc://127.0.0.1:{state['port']}"
        finally:
            lease.unlink(missing_ok=True)
            (self.state_dir / "last_used").touch()

    def status(self) -> dict | None:
        """The live server's state (``pid``, ``port``, ...) or None when none is running."""
        state = self._read_state()
        if state and _alive(state["pid"]) and _port_open(state["port"]):
            return state
        return None

    def stop(self) -> None:
        """Stop the server and its watchdog, if running."""
        with self._locked():
            self._stop_locked()

    # -- internals ------------------------------------------------------------------------
    @contextlib.contextmanager
    def _locked(self, blocking: bool = True) -> Iterator[bool]:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        with open(self.state_dir / "server.lock", "w") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _read_state(self) -> dict | None:
        try:
            return json.loads((self.state_dir / "server.json").read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None

    def _settings(self) -> dict:
        return {"cores": self.cores, "driver_memory_gb": self.driver_memory_gb, "confs": self.confs}

    def _ensure_running(self) -> dict:
        state = self.status()
        # A server started with other settings is restarted, but only once nobody uses it.
        if state and (state.get("settings") == self._settings() or self._live_leases()):
            return state
        self._stop_locked()  # also clears a dead server's leftovers
        return self._start()

    def _start(self) -> dict:
        require_java()
        port = _free_port()
        confs = {
            "spark.connect.grpc.binding.address": "127.0.0.1",
            "spark.connect.grpc.binding.port": str(port),
            "spark.driver.host": "127.0.0.1",
            "spark.driver.bindAddress": "127.0.0.1",
            "spark.ui.enabled": "false",
            "spark.scheduler.mode": "FAIR",
            "spark.sql.session.timeZone": "UTC",
            **self.confs,
        }
        command = [
            str(_spark_home() / "bin" / "spark-submit"),
            "--master", f"local[{self.cores}]",
            "--driver-memory", f"{self.driver_memory_gb}g",
            *itertools.chain.from_iterable(("--conf", f"{k}={v}") for k, v in confs.items()),
            "--class", SERVER_CLASS,
            "--name", "emr-platform local Spark Connect server",
            "spark-internal",
        ]
        log = self.state_dir / "server.log"
        env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", "SPARK_HOME": str(_spark_home())}
        env.pop("SPARK_REMOTE", None)
        env.pop("PYSPARK_SUBMIT_ARGS", None)
        with open(log, "ab") as out:
            proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not _port_open(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                _kill_group(proc.pid)
                tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
                raise RuntimeError(f"Spark Connect server did not start on 127.0.0.1:{port}; its log ({log}):\n{tail}")
            time.sleep(0.25)
        (self.state_dir / "last_used").touch()
        watchdog = subprocess.Popen(
            [sys.executable, "-m", "resources.spark_connect", str(self.state_dir), str(self.idle_timeout_seconds)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
            cwd=str(Path(__file__).resolve().parents[1]),
        )
        state = {"pid": proc.pid, "port": port, "watchdog_pid": watchdog.pid, "started_at": time.time(),
                 "settings": self._settings()}
        tmp = self.state_dir / "server.json.tmp"
        tmp.write_text(json.dumps(state))
        tmp.replace(self.state_dir / "server.json")
        return state

    def _stop_locked(self) -> None:
        state = self._read_state()
        if state:
            _kill_group(state["pid"])
            if state.get("watchdog_pid") != os.getpid():
                _kill_group(state.get("watchdog_pid"))
        (self.state_dir / "server.json").unlink(missing_ok=True)

    def _live_leases(self) -> list[Path]:
        if not self.leases.is_dir():
            return []
        return [p for p in self.leases.iterdir() if _alive(int(p.name.split("-")[0]))]

    def idle_for(self) -> float:
        """Seconds since the last job ended, 0 while a job holds a lease."""
        if self._live_leases():
            return 0.0
        try:
            return time.time() - (self.state_dir / "last_used").stat().st_mtime
        except FileNotFoundError:
            return float("inf")


def local_server(settings: LocalSparkSettings) -> SparkConnectServer:
    """The shared server of the stage's ``local_spark`` settings (``state_dir``, cores, driver
    memory, idle timeout, shuffle partitions): what local jobs and local sessions lease."""
    return SparkConnectServer(
        settings.state_dir,
        cores=settings.cores,
        driver_memory_gb=settings.driver_memory_gb,
        idle_timeout_seconds=settings.idle_timeout_seconds,
        confs={"spark.sql.shuffle.partitions": str(settings.shuffle_partitions)},
    )


def _kill_group(pid: int | None) -> None:
    if not pid:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGTERM)
        for _ in range(40):
            if not _alive(pid):
                return
            time.sleep(0.25)
        os.killpg(pid, signal.SIGKILL)


def watch(state_dir: str, idle_timeout_seconds: float) -> None:
    """The watchdog loop: stop the server once idle for ``idle_timeout_seconds``; exit when it is gone."""
    server = SparkConnectServer(state_dir)
    while True:
        time.sleep(WATCH_INTERVAL_SECONDS)
        state = server._read_state()
        if not state or state.get("watchdog_pid") != os.getpid() or not _alive(state["pid"]):
            return
        if server.idle_for() >= idle_timeout_seconds:
            with server._locked(blocking=False) as locked:
                if locked and server.idle_for() >= idle_timeout_seconds:
                    server._stop_locked()
                    return


if __name__ == "__main__":
    watch(sys.argv[1], float(sys.argv[2]))
