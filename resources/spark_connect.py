"""One warm Spark Connect server on 127.0.0.1, shared by every local job of every run.

Start-up of a Spark session costs about 7 s of JVM start each job; a Spark Connect server
pays it once. :class:`SparkConnectServer` starts the server (pyspark's own
``SparkConnectServer`` class through ``bin/spark-submit``) on first use, on a free
loopback port, with a watchdog process that stops it after ``idle_timeout_seconds``
without a running job. State lives in ``state_dir``:

- ``server.lock``: an ``flock`` serializing start, stop and lease creation across processes;
- ``server.json``: ``{"pid", "port", "watchdog_pid", "started_at", "settings", "cds_recording"}`` of the
  live server (``cds_recording``: the file its JVM writes a CDS archive to at exit, or null);
- ``leases/<pid>-<n>``: one file per running job; ``last_used``: touched when a job ends;
- ``server.log``: the server's own log; ``watchdog.log``: what its watchdogs printed (the idle stops
  they made, with how long the server had been idle, or their traceback if one failed);
- ``cds/<key>.jsa``: the JVM's class-data-sharing archive of the classes the server loads
  (about 250 MB), ``key`` naming the Java binary and the pyspark install it was made with.

A dead server (killed, crashed) is noticed by the next lease and restarted transparently.

Class-data sharing: a JVM that loads Spark's classes from a CDS archive instead of from its
jars starts and warms up in about half the time (measured 2026-11-26 on 2 cores: port open in
3.8-7.1 s instead of 7.1-11.9 s; docs/local-spark.md). A server started without an archive
records one (``-XX:ArchiveClassesAtExit``) into a file of its own; when it is stopped, the
JVM writes it at exit and the stopper publishes it under its final name only once a
``java -Xshare:on`` with the server's classpath accepts it, so no start ever maps a partial
file. Later starts map it (``-XX:SharedArchiveFile`` with ``-Xshare:on``): a JVM that cannot
map it fails at start instead of running without it (Java 17 aborts on a partial archive by itself;
Java 21 and 25 only warn, and would never record a new one), and that start is retried once
without it, recording a new archive (the broken one is removed).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import itertools
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from emr_platform import jars
from emr_platform.java import require_java
from emr_platform.substrates.local import LocalSparkSettings

SERVER_CLASS = "org.apache.spark.sql.connect.service.SparkConnectServer"
SUBMIT_CLASS = "org.apache.spark.deploy.SparkSubmit"  # the main class of the JVM spark-submit execs
START_TIMEOUT_SECONDS = 180
STOP_TIMEOUT_SECONDS = 10
# Writing the CDS archive at exit took 19 s on 2 busy cores; a stop waits this long for it.
ARCHIVE_STOP_TIMEOUT_SECONDS = 180
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


def archive_key(java: str, spark_home: Path, pyspark_version: str, classpath: tuple[str, ...] = ()) -> str:
    """16 hex digits naming a CDS archive: the ``java`` binary it is for (its real path, size and
    modification time, which a Java upgrade changes), the pyspark install (path and version) and
    the jars appended to Spark's classpath (a JVM maps an archive only with the classpath it was
    recorded with)."""
    binary = Path(java).resolve()
    stat = binary.stat()
    facts = [str(binary), str(stat.st_size), str(stat.st_mtime_ns), str(spark_home.resolve()), pyspark_version, *classpath]
    return hashlib.sha256("\0".join(facts).encode()).hexdigest()[:16]


def archive_accepted(jvm: list[str], archive: Path) -> bool:
    """Whether a JVM started as ``jvm`` (java binary and options, classpath included) maps ``archive``:
    ``java -Xshare:on`` fails on a partial, corrupt or mismatched archive instead of ignoring it."""
    check = [*jvm, "-Xshare:on", f"-XX:SharedArchiveFile={archive}", "-version"]
    try:
        return subprocess.run(check, capture_output=True, timeout=60, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _jvm_options(pid: int) -> list[str] | None:
    """The java binary and JVM options (up to the main class, without CDS options) of running
    server ``pid``, from its command line; None if it is gone or not (yet) a JVM."""
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
        jvm = args[: args.index(SUBMIT_CLASS)]
    except (OSError, ValueError):
        return None
    return [arg for arg in jvm if not arg.startswith("-XX:ArchiveClassesAtExit=")] if "-cp" in jvm else None


class SparkConnectServer:
    """Handle on the shared server of ``state_dir`` (cheap to create; all state is on disk).

    ``cores`` is the ``local[N]`` parallelism, ``driver_memory_gb`` the JVM heap in GiB,
    ``idle_timeout_seconds`` how long the server lives without a job, ``confs`` extra
    Spark confs, ``classpath`` jar paths appended to Spark's own classpath, ``class_data_sharing``
    whether to record and use a CDS archive in ``state_dir/cds``. Raises ``RuntimeError`` (with the
    server log's tail) if it cannot start.

    ``classpath`` goes to the JVM through ``SPARK_DIST_CLASSPATH``, Spark's documented way to add
    Hadoop's jars (S3A is one), which its launcher appends after Spark's own jars. Not ``spark.jars``:
    Spark copies each of those into every application's work directory (the 558 MB AWS SDK bundle
    included, measured 2026-12-06); not ``spark.driver.extraClassPath``: it comes before Spark's
    jars, and the SDK bundle carries unshaded netty and slf4j classes that would shadow Spark's.
    """

    def __init__(
        self,
        state_dir: Path | str,
        cores: int = 2,
        driver_memory_gb: int = 2,
        idle_timeout_seconds: int = 900,
        confs: dict[str, str] | None = None,
        classpath: list[str] | None = None,
        class_data_sharing: bool = True,
    ):
        # Absolute: the watchdog runs in another directory, and the archive's paths are compared.
        self.state_dir = Path(state_dir).resolve()
        self.cores, self.driver_memory_gb = cores, driver_memory_gb
        self.idle_timeout_seconds = idle_timeout_seconds
        self.confs = confs or {}
        self.classpath = list(classpath or [])
        self.class_data_sharing = class_data_sharing
        self.leases = self.state_dir / "leases"
        self.cds_dir = self.state_dir / "cds"

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

    def prestart(self) -> threading.Thread:
        """Start the server in a background thread if it is not running; returns at once.

        Meant for the very start of a run, so that the JVM starts while Dagster loads
        definitions and prepares the first asset: the first :meth:`lease` then waits for this
        start (on the state lock) instead of beginning one. A failed start is left to that
        lease, which tries again and raises the error. Returns the (daemon) thread.
        """

        def start() -> None:
            with contextlib.suppress(Exception), self._locked():
                self._ensure_running()

        thread = threading.Thread(target=start, name="spark-connect-prestart", daemon=True)
        thread.start()
        return thread

    def archive(self) -> Path:
        """Path of the CDS archive for the current Java and pyspark (which may not exist yet)."""
        import pyspark

        key = archive_key(require_java(), _spark_home(), pyspark.__version__, tuple(self.classpath))
        return self.cds_dir / f"{key}.jsa"

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
        return {"cores": self.cores, "driver_memory_gb": self.driver_memory_gb, "confs": self.confs,
                "classpath": self.classpath}

    def _ensure_running(self) -> dict:
        state = self.status()
        # A server started with other settings is restarted, but only once nobody uses it.
        if state and (state.get("settings") == self._settings() or self._live_leases()):
            return state
        self._stop_locked()  # also clears a dead server's leftovers
        return self._start()

    def _start(self) -> dict:
        require_java()
        if not self.class_data_sharing:
            return self._launch([], None)
        archive = self.archive()
        if archive.exists():
            try:
                return self._launch([f"-XX:SharedArchiveFile={archive}", "-Xshare:on"], None)
            except RuntimeError:
                # -Xshare:on: a JVM that cannot map the archive exits; it must not be tried again.
                archive.unlink(missing_ok=True)
        self.cds_dir.mkdir(parents=True, exist_ok=True)
        recording = self.cds_dir / f"{archive.name}.{os.getpid()}-{time.time_ns()}.tmp"
        return self._launch([f"-XX:ArchiveClassesAtExit={recording}"], recording)

    def _launch(self, java_options: list[str], recording: Path | None) -> dict:
        """Start the server JVM with ``java_options``; ``recording``: where it writes a CDS archive at exit."""
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
        options = " ".join([confs.pop("spark.driver.extraJavaOptions", ""), *map(shlex.quote, java_options)]).strip()
        command = [
            str(_spark_home() / "bin" / "spark-submit"),
            "--master", f"local[{self.cores}]",
            "--driver-memory", f"{self.driver_memory_gb}g",
            *(["--driver-java-options", options] if options else []),
            *itertools.chain.from_iterable(("--conf", f"{k}={v}") for k, v in confs.items()),
            "--class", SERVER_CLASS,
            "--name", "emr-platform local Spark Connect server",
            "spark-internal",
        ]
        log = self.state_dir / "server.log"
        env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", "SPARK_HOME": str(_spark_home())}
        if self.classpath:
            env["SPARK_DIST_CLASSPATH"] = os.pathsep.join(self.classpath)
        env.pop("SPARK_REMOTE", None)
        env.pop("PYSPARK_SUBMIT_ARGS", None)
        with open(log, "ab") as out:
            # cwd: what the JVM writes where it runs (a crash report, spark-warehouse) stays in the state dir
            proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True,
                                    cwd=self.state_dir)
        # The watchdog starts with the server: if this process dies while the server starts
        # (a prestart thread of a run that ended), the server is still stopped once idle.
        (self.state_dir / "last_used").touch()
        with open(self.state_dir / "watchdog.log", "ab") as out:
            watchdog = subprocess.Popen(
                [sys.executable, "-m", "resources.spark_connect", str(self.state_dir), str(self.idle_timeout_seconds),
                 str(proc.pid)],
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                cwd=str(Path(__file__).resolve().parents[1]),
            )
        state = {"pid": proc.pid, "port": port, "watchdog_pid": watchdog.pid, "started_at": time.time(),
                 "settings": self._settings(), "cds_recording": str(recording) if recording else None}
        self._write_state(state)
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not _port_open(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                self._stop_locked()
                tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
                raise RuntimeError(f"Spark Connect server did not start on 127.0.0.1:{port}; its log ({log}):\n{tail}")
            time.sleep(0.25)
        return state

    def _write_state(self, state: dict) -> None:
        tmp = self.state_dir / "server.json.tmp"
        tmp.write_text(json.dumps(state))
        tmp.replace(self.state_dir / "server.json")

    def _stop_locked(self) -> None:
        state = self._read_state()
        if state:
            recording = Path(state["cds_recording"]) if state.get("cds_recording") else None
            jvm = _jvm_options(state["pid"]) if recording else None
            _kill_group(state["pid"], ARCHIVE_STOP_TIMEOUT_SECONDS if recording else STOP_TIMEOUT_SECONDS)
            if state.get("watchdog_pid") != os.getpid():
                _kill_group(state.get("watchdog_pid"))
            if recording:
                self._publish(recording, jvm)
        (self.state_dir / "server.json").unlink(missing_ok=True)

    def _publish(self, recording: Path, jvm: list[str] | None) -> None:
        """Give the archive the stopped server wrote its final name if a JVM accepts it; else drop it."""
        final = recording.with_name(recording.name.split(".")[0] + ".jsa")
        if recording.exists() and jvm and archive_accepted(jvm, recording):
            recording.replace(final)  # atomic: a concurrent start maps the old file or the new one
            for stale in self.cds_dir.glob("*.jsa"):  # archives of an older Java or pyspark
                if stale != final:
                    stale.unlink(missing_ok=True)
        # Under the state lock no other server of this state dir records: every partial file is stale.
        for partial in self.cds_dir.glob("*.tmp"):
            partial.unlink(missing_ok=True)

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


# Spark confs of a server without code generation: no whole-stage code generation, and expressions
# evaluated by the interpreter Spark falls back to when compiling fails (`factoryMode`, an internal
# conf that Spark 4.3 honours outside tests). In the demo's month the server logged 140 "Code
# generated" lines with both instead of 634 (726 with whole-stage code generation off alone, which
# compiles expressions one by one instead), 2026-11-26.
NO_CODE_GENERATION = {"spark.sql.codegen.wholeStage": "false", "spark.sql.codegen.factoryMode": "NO_CODEGEN"}


def local_server(settings: LocalSparkSettings) -> SparkConnectServer:
    """The shared server of the stage's ``local_spark`` settings (``state_dir``, cores, driver
    memory, idle timeout, shuffle partitions, code generation, class-data sharing, JVM options): what
    local jobs and local sessions lease. It runs with the pinned jars (:mod:`emr_platform.jars`),
    ``s3://`` served by S3A as EMRFS serves it on EMR.

    Raises :class:`emr_platform.jars.JarCacheError` when the jar cache lacks a jar (``make install``).
    """
    return SparkConnectServer(
        settings.state_dir,
        cores=settings.cores,
        driver_memory_gb=settings.driver_memory_gb,
        idle_timeout_seconds=settings.idle_timeout_seconds,
        confs={"spark.sql.shuffle.partitions": str(settings.shuffle_partitions)}
        | jars.S3_SCHEME
        | ({} if settings.code_generation else NO_CODE_GENERATION)
        | ({"spark.driver.extraJavaOptions": settings.java_options} if settings.java_options else {}),
        classpath=[str(path) for path in jars.spark_jars()],
        class_data_sharing=settings.class_data_sharing,
    )


def _kill_group(pid: int | None, timeout_seconds: float = STOP_TIMEOUT_SECONDS) -> None:
    """SIGTERM process group ``pid``; SIGKILL it if its leader still runs after ``timeout_seconds``."""
    if not pid:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_seconds
        while time.monotonic() < deadline:
            if not _alive(pid):
                return
            time.sleep(0.25)
        os.killpg(pid, signal.SIGKILL)


def watch(state_dir: str, idle_timeout_seconds: float, server_pid: int) -> None:
    """The watchdog loop of server ``server_pid``: stop it once idle for ``idle_timeout_seconds``;
    exit when it is gone or another server took its place."""
    server = SparkConnectServer(state_dir)
    while True:
        time.sleep(WATCH_INTERVAL_SECONDS)
        state = server._read_state()
        if not _alive(server_pid) or (state and state["pid"] != server_pid):
            return
        if server.idle_for() >= idle_timeout_seconds:
            with server._locked(blocking=False) as locked:
                if locked and (idle := server.idle_for()) >= idle_timeout_seconds:
                    print(f"{time.strftime('%Y-%m-%dT%H:%M:%S%z')} stopping server pid {server_pid}: idle for "
                          f"{idle:.0f} s (idle_timeout_seconds {idle_timeout_seconds:g})", flush=True)
                    server._stop_locked()
                    return


if __name__ == "__main__":
    watch(sys.argv[1], float(sys.argv[2]), int(sys.argv[3]))
