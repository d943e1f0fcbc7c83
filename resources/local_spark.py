"""``LocalSparkLauncher``: runs a job script on this machine through Dagster Pipes.

The script runs as ``python <script>`` in a child process with the Pipes bootstrap
environment; ``jobkit.py`` is on its PYTHONPATH. With ``forkserver`` (the default) that process is
a fork of a Python process that has imported pyspark and dagster-pipes once
(:mod:`resources.forkserver`), which saves each job about 1 CPU-second. Where Spark runs depends on
``mode``:

- ``connect`` (default): ``SPARK_REMOTE`` points the script's
  ``SparkSession.builder.getOrCreate()`` at the shared warm Spark Connect server
  (:mod:`resources.spark_connect`), so no job pays JVM start-up after the first;
- ``classic``: a fresh local-mode session per job (``PYSPARK_SUBMIT_ARGS``), for scripts
  that need the RDD or SparkContext APIs that Spark Connect does not offer.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
import warnings
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import ClassVar

import dagster as dg

from emr_platform.java import require_java
from emr_platform.launcher import (
    JOBKIT,
    LOG_TAIL_LINES,
    MAX_LINE_CHARS,
    Site,
    SparkJob,
    SparkJobError,
    SparkLauncher,
    SparkResult,
    is_tail_line,
    with_usage,
)
from emr_platform.pricing import Usage
from emr_platform.substrates.local import LocalSparkSettings
from resources.forkserver import ForkedJob, ForkserverError, forkserver_for
from resources.spark_connect import SparkConnectServer, local_server

# dagster 1.13 warns on every Pipes session that a reader API it calls itself is in preview
warnings.filterwarnings("ignore", category=dg.PreviewWarning, message=".*expected_writer_count.*")
# What pyspark says when a script calls an API that Spark Connect lacks (RDDs, SparkContext, ...).
CONNECT_UNSUPPORTED = ("JVM_ATTRIBUTE_NOT_SUPPORTED", "NOT_IMPLEMENTED", "PySparkNotImplementedError", "sparkContext")
CONNECT_HINT = (
    "The script uses an API that Spark Connect does not support (RDD or SparkContext APIs); "
    "rewrite it with DataFrame APIs, or set `local_spark: {mode: classic}` in stages/local.yml "
    "to give every local job its own classic Spark session"
)


@dataclass(frozen=True)
class LocalSparkLauncher(SparkLauncher):
    """Local Spark (``local[cores]``) with the stage's ``local_spark`` settings. Usage is
    reported as held vCPU-hours and memory GB-hours."""

    substrate: ClassVar[str] = "local"
    settings: LocalSparkSettings

    @classmethod
    def create(cls, settings: LocalSparkSettings, site: Site) -> LocalSparkLauncher:
        return cls(settings)

    def server(self) -> SparkConnectServer:
        """The shared Spark Connect server of ``state_dir`` (started lazily by its lease)."""
        return local_server(self.settings)

    def classic_env(self) -> dict[str, str]:
        """Environment giving the script a fresh local-mode session (``classic`` mode)."""
        settings = self.settings
        confs = {
            "spark.sql.shuffle.partitions": settings.shuffle_partitions,
            "spark.ui.enabled": "false",
            "spark.driver.host": "127.0.0.1",
            "spark.driver.bindAddress": "127.0.0.1",
            "spark.sql.session.timeZone": "UTC",
            "spark.log.level": "WARN",
        }
        args = [f"--master local[{settings.cores}]", f"--driver-memory {settings.driver_memory_gb}g"]
        if settings.java_options:
            confs["spark.driver.extraJavaOptions"] = settings.java_options
        args += [f"--conf {shlex.quote(f'{key}={value}')}" for key, value in confs.items()]
        return {"PYSPARK_SUBMIT_ARGS": " ".join(args) + " pyspark-shell"}

    def job_env(self) -> dict[str, str]:
        """A job script's environment but for the per-launch variables (Pipes' bootstrap and, in
        ``connect`` mode, ``SPARK_REMOTE``): this process's (:func:`inherited_env`), ``jobkit`` on
        ``PYTHONPATH``, and in ``classic`` mode the session's ``PYSPARK_SUBMIT_ARGS``."""
        return {
            **inherited_env(),
            **(self.classic_env() if self.settings.mode == "classic" else {}),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(JOBKIT.parent), os.environ.get("PYTHONPATH")])),
            "PYSPARK_PYTHON": sys.executable,
        }

    def prestart(self, jobs_here: bool = True) -> None:
        """Start, in the background, what a run's first job would wait for: the Connect server
        (``connect`` mode, :meth:`SparkConnectServer.prestart`) and, if this process launches the
        jobs (``jobs_here``), its forkserver (``forkserver``). Returns at once."""
        if self.settings.mode == "connect":
            self.server().prestart()
        if jobs_here:
            self._prestart_forkserver(self.job_env())

    def _prestart_forkserver(self, env: dict[str, str]) -> None:
        if self.settings.forkserver:
            with contextlib.suppress(ForkserverError):  # run_script says why, and runs the job anyway
                forkserver_for(env)  # imports its preload while the caller goes on

    @contextlib.contextmanager
    def _spark(self) -> Iterator[dict[str, str]]:
        if self.settings.mode == "classic":
            yield {}
        else:
            with self.server().lease() as url:
                yield {"SPARK_REMOTE": url}

    def launch(self, context: dg.AssetExecutionContext, job: SparkJob) -> Sequence[SparkResult]:
        require_java()
        started = time.monotonic()
        base_env = self.job_env()
        self._prestart_forkserver(base_env)  # while the server's lease and the Pipes session open
        with self._spark() as spark_env, dg.open_pipes_session(
            context=context,
            context_injector=dg.PipesEnvContextInjector(),
            message_reader=dg.PipesTempFileMessageReader(),
            extras=job.extras,
        ) as session:
            env = {**base_env, **session.get_bootstrap_env_vars(), **spark_env}
            try:
                run_script(
                    context, job, [sys.executable, str(job.script), *job.args], env, self.substrate,
                    forkserver=self.settings.forkserver,
                )
            except SparkJobError as error:
                if self.settings.mode == "connect" and any(marker in error.log_tail for marker in CONNECT_UNSUPPORTED):
                    raise SparkJobError(
                        self.substrate, job, error.reason + ". " + CONNECT_HINT, error.log_tail
                    ) from None
                raise
        seconds = time.monotonic() - started
        usage = Usage(
            substrate=self.substrate,
            job_seconds=seconds,
            vcpu_hours=self.settings.cores * seconds / 3600,
            memory_gb_hours=self.settings.driver_memory_gb * seconds / 3600,
        )
        return with_usage(session.get_results(), usage)


# Set by pyspark in a process that once opened a Spark Connect session (e.g. an interactive
# session, or a test): inherited, they would turn a classic job's session into a Connect one.
SPARK_MODE_VARIABLES = ("SPARK_REMOTE", "SPARK_CONNECT_MODE_ENABLED", "SPARK_API_MODE")


def inherited_env() -> dict[str, str]:
    """This process's environment without the variables that choose how pyspark connects: the
    launcher sets them for the job's mode itself."""
    return {key: value for key, value in os.environ.items() if key not in SPARK_MODE_VARIABLES}


def run_script(
    context: dg.AssetExecutionContext,
    job: SparkJob,
    command: list[str],
    env: dict[str, str],
    substrate: str,
    forkserver: bool = False,
) -> None:
    """Run ``command`` (``[python, script, *args]``) in a session of its own, forwarding its output
    to the asset's log, within ``job.timeout_seconds``; with ``forkserver``, as a fork of this
    process's :func:`resources.forkserver.forkserver_for` ``env`` (a new Python process if that
    cannot serve, with a warning in the asset's log).

    Raises :class:`SparkJobError` with the last output lines when the process exits non-zero
    or times out; on timeout or interruption the whole process group is killed.
    """
    proc: subprocess.Popen | ForkedJob | None = None
    if forkserver:
        try:
            proc = forkserver_for(env).start(command, env)
        except ForkserverError as error:
            context.log.warning(f"{error}; the job script starts in a new Python process")
    if proc is None:
        proc = subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
        )
    tail: deque[str] = deque(maxlen=LOG_TAIL_LINES)

    def forward() -> None:
        for line in proc.stdout:
            line = line.rstrip()
            context.log.info(line)
            if is_tail_line(line):
                tail.append(line[:MAX_LINE_CHARS])

    reader = threading.Thread(target=forward, daemon=True)
    reader.start()
    try:
        proc.wait(timeout=job.timeout_seconds)
    except subprocess.TimeoutExpired:
        _kill(proc)
        reader.join(5)
        raise SparkJobError(substrate, job, f"timed out after {job.timeout_seconds} s", "\n".join(tail)) from None
    except BaseException:  # interrupted (run terminated from the UI): leave nothing running
        _kill(proc)
        raise
    reader.join(5)
    if proc.returncode != 0:
        raise SparkJobError(substrate, job, f"job script exited with code {proc.returncode}", "\n".join(tail))


def _kill(proc: subprocess.Popen | ForkedJob) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()
