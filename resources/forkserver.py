"""A forkserver for local job scripts: ``python <script>`` without paying Python's imports each time.

Before a job script runs anything, its Python process spends about 1 CPU-second importing
pyspark's Connect client (with pandas, pyarrow and grpc) and dagster-pipes (0.9-1.0 CPU-seconds
on 2 cores, 2026-11-27). :class:`Forkserver` is a Python process that imports those modules once
(:data:`PRELOAD`); each job is then a fork of it that runs the script exactly as
``python <script> <args>`` would:

- as ``__main__`` (``runpy.run_path``), with ``sys.argv`` the script and its arguments and the
  script's folder first on ``sys.path``;
- with the job's environment (``os.environ`` replaced before the script runs) and working
  directory (by default the launching process's, as ``Popen`` without ``cwd``);
- in a session of its own (``os.setsid``: its process group can be killed whole), standard input
  from ``/dev/null``, standard output and error to one pipe the launcher reads (or each to its own);
- exiting with the script's code: ``sys.exit(n)`` gives ``n``, an uncaught exception 1 after its
  traceback, a signal ``-signum`` (as ``subprocess.Popen.returncode``).

A forkserver serves only jobs whose environment is the one it was started with, but for the
per-launch variables (:func:`environment_key`), which none of :data:`PRELOAD` reads at import:
Dagster's ``DAGSTER_*`` (dagster-pipes reads its ``DAGSTER_PIPES_*`` when the script opens Pipes;
dagster itself is not preloaded), ``SPARK_REMOTE`` (pyspark 4 reads it when the script builds its
session, nowhere else) and ``PYTEST_CURRENT_TEST`` (pytest names each test phase in it). Anything
else that differs (``PYTHONPATH``, ``PYSPARK_SUBMIT_ARGS``, ...) starts another one, so a module
that reads the environment at import sees the job's. Only third-party
modules are preloaded, none of the platform's or the team's, so editing a job script or ``jobkit``
takes effect at the next launch.

It lives as long as the process that started it: it exits when that process closes its end of
the control socket (at exit, or on :meth:`Forkserver.close`). Run as a script, this file is the
forkserver itself and imports nothing but the standard library before :data:`PRELOAD`.

Why not ``multiprocessing``'s forkserver: it runs a function of the launching program, not a
script, and prepares each child by importing the launching program's ``__main__`` (for a Dagster
run, dagster itself: the seconds this saves); its children also share its standard streams, where
each job here has its own.
"""

from __future__ import annotations

import json
import os
import runpy
import socket
import subprocess
import sys
import threading
import traceback
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import IO

# What every job script imports before its first Spark call (jobkit's own imports).
PRELOAD = ("pyspark.sql.connect.session", "pyspark.sql.functions", "dagster_pipes")
# Per-launch variables (none read by PRELOAD at import): Dagster's (dagster-pipes reads its own
# when the script opens its Pipes context), the Spark Connect server's URL (read by pyspark when the
# script builds its session) and pytest's name of the current test phase.
PER_LAUNCH_PREFIX = "DAGSTER_"
PER_LAUNCH = frozenset({"SPARK_REMOTE", "PYTEST_CURRENT_TEST"})
READY_TIMEOUT_SECONDS = 120.0
MAX_MESSAGE_BYTES = 1 << 20


class ForkserverError(RuntimeError):
    """The forkserver could not start (its preload failed or it died) or could not start a job."""


class ForkedJob:
    """A job script's process started by a :class:`Forkserver`, with the part of the
    ``subprocess.Popen`` interface launchers use: ``args``, ``pid``, ``stdout`` (text: the script's
    standard output, and its standard error unless that has a pipe of its own, ``stderr``),
    ``returncode``, :meth:`poll`, :meth:`wait` and :meth:`communicate`."""

    def __init__(self, args: Sequence[str], pid: int, stdout: IO[str], stderr: IO[str] | None, status: socket.socket):
        self.args, self.pid, self.stdout, self.stderr, self.returncode = list(args), pid, stdout, stderr, None
        self._status = status

    def wait(self, timeout: float | None = None) -> int:
        """The exit code, waiting at most ``timeout`` seconds (``None``: until it exits).

        Raises ``subprocess.TimeoutExpired`` if it is still running then.
        """
        if self.returncode is None:
            self._status.settimeout(timeout)
            try:
                message = self._status.recv(MAX_MESSAGE_BYTES)
            except (TimeoutError, BlockingIOError):
                raise subprocess.TimeoutExpired(self.args, timeout) from None
            except OSError:
                message = b""
            # No message: the forkserver's process waiting on it died; report the job as killed.
            self.returncode = int(json.loads(message)["returncode"]) if message else -9
            self._status.close()
        return self.returncode

    def communicate(self) -> tuple[str, str | None]:
        """Read the output (and error) to their end and wait for the exit: ``(stdout, stderr)``,
        ``stderr`` None when it went to ``stdout``."""
        errors: list[str] = []
        reader = threading.Thread(target=lambda: errors.append(self.stderr.read()), daemon=True)
        if self.stderr is not None:
            reader.start()
        with self.stdout:
            output = self.stdout.read()
        if self.stderr is not None:
            reader.join()
            self.stderr.close()
        self.wait()
        return output, (errors[0] if errors else None)

    def poll(self) -> int | None:
        """The exit code, or ``None`` while it runs."""
        try:
            return self.wait(0)
        except subprocess.TimeoutExpired:
            return None


class Forkserver:
    """One forkserver process started with ``env`` (a complete environment) that imports its
    ``preload`` modules (default :data:`PRELOAD`) and then forks a process per :meth:`start`.

    Raises :class:`ForkserverError` (here, from :meth:`wait_ready` or from :meth:`start`) when it
    cannot serve.
    """

    def __init__(self, env: Mapping[str, str], preload: Sequence[str] | None = None):
        self.key = environment_key(env)
        try:  # Linux: message sockets between processes, and fork
            self._control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        except (AttributeError, OSError) as error:
            raise ForkserverError(f"the job forkserver needs Unix message sockets: {error}") from None
        self._lock = threading.Lock()
        self._ready: bool | None = None
        with theirs:
            self.process = subprocess.Popen(
                [sys.executable, "-P", __file__, str(theirs.fileno()), *(PRELOAD if preload is None else preload)],
                env=dict(env), pass_fds=[theirs.fileno()],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )

    def wait_ready(self, timeout: float = READY_TIMEOUT_SECONDS) -> None:
        """Wait until the preload is imported. Raises :class:`ForkserverError` if it failed."""
        with self._lock:
            if self._ready is None:
                self._control.settimeout(timeout)
                try:
                    message = self._control.recv(MAX_MESSAGE_BYTES)
                except (TimeoutError, OSError) as error:
                    message = json.dumps({"error": f"no answer within {timeout} s ({error})"}).encode()
                reply = json.loads(message) if message else {"error": f"exited with {self.process.poll()}"}
                self._ready = "error" not in reply
                if not self._ready:
                    self._error = reply["error"]
            if not self._ready:
                raise ForkserverError(f"the job forkserver cannot serve: {self._error}")

    def start(
        self, args: Sequence[str], env: Mapping[str, str], cwd: str | os.PathLike | None = None, stderr: bool = False
    ) -> ForkedJob:
        """Run ``args`` (``[python, script, *arguments]``) with ``env`` in a fork, in ``cwd`` (default:
        this process's working directory), its standard error on a pipe of its own if ``stderr``;
        ``env`` must have this forkserver's :func:`environment_key`.

        Raises :class:`ForkserverError` if the forkserver is gone or does not answer.
        """
        if environment_key(env) != self.key:
            raise ForkserverError("the job's environment differs from the forkserver's")
        if os.path.realpath(args[0]) != os.path.realpath(sys.executable):
            raise ForkserverError(f"the forkserver runs {sys.executable}, not {args[0]}")
        self.wait_ready()
        pipes = [os.pipe() for _ in range(2 if stderr else 1)]
        status, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            payload = json.dumps({"argv": list(args[1:]), "env": dict(env), "cwd": os.fspath(cwd or os.getcwd())})
            with self._lock:
                self._control.settimeout(30)
                socket.send_fds(self._control, [payload.encode()], [theirs.fileno(), *(w for _, w in pipes)])
            status.settimeout(30)
            message = status.recv(MAX_MESSAGE_BYTES)
            if not message:
                raise ForkserverError("it exited")
            pid = int(json.loads(message)["pid"])
        except (OSError, ValueError, ForkserverError) as error:
            for read_end, _ in pipes:
                os.close(read_end)
            status.close()
            raise ForkserverError(f"the job forkserver did not start the job: {error}") from None
        finally:
            for _, write_end in pipes:
                os.close(write_end)
            theirs.close()
        output, *error_output = (os.fdopen(read_end, "r", errors="replace") for read_end, _ in pipes)
        return ForkedJob(args, pid, output, error_output[0] if error_output else None, status)

    def close(self) -> None:
        """Stop the forkserver (jobs it started run on)."""
        self._control.close()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def environment_key(env: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """What a forkserver's environment must match: ``env`` without the per-launch variables
    (``DAGSTER_*``, ``SPARK_REMOTE``, ``PYTEST_CURRENT_TEST``)."""
    return tuple(sorted((k, v) for k, v in env.items() if not k.startswith(PER_LAUNCH_PREFIX) and k not in PER_LAUNCH))


# A process's forkservers by environment, the most recently used last.
_servers: OrderedDict[tuple[tuple[str, str], ...], Forkserver] = OrderedDict()
_servers_lock = threading.Lock()
_servers_owner = os.getpid()
MAX_FORKSERVERS = 3


def forkserver_for(env: Mapping[str, str]) -> Forkserver:
    """This process's forkserver for ``env``: a running one whose environment matches, else a new
    one; of more than :data:`MAX_FORKSERVERS` (e.g. jobs of two substrates in one process), the
    least recently used is stopped.

    Raises :class:`ForkserverError` if a new one cannot start.
    """
    global _servers_owner
    key = environment_key(env)
    with _servers_lock:
        if _servers_owner != os.getpid():  # a fork of the process that started them: theirs to stop
            _servers.clear()
            _servers_owner = os.getpid()
        server = _servers.pop(key, None)
        if server is not None and server.process.poll() is not None:
            server = None
        _servers[key] = server or Forkserver(env)
        while len(_servers) > MAX_FORKSERVERS:
            _servers.popitem(last=False)[1].close()
        return _servers[key]


def stop_forkservers() -> None:
    """Stop this process's forkservers (jobs they started run on)."""
    with _servers_lock:
        while _servers:
            _servers.popitem()[1].close()


# --- the forkserver process (this file run as a script) ---------------------------------------


def _serve(control: socket.socket) -> dict:
    """Start a job per request until the control socket closes; returns only in a job's process."""
    while True:
        try:
            message, fds, _flags, _addr = socket.recv_fds(control, MAX_MESSAGE_BYTES, 3)
        except InterruptedError:
            continue
        except OSError:  # the owner closed its end with our "ready" unread
            os._exit(0)
        if not message:
            os._exit(0)
        status_fd, output, *error_output = fds
        errors = error_output[0] if error_output else output
        job = json.loads(message)
        if os.fork() == 0:  # the job's waiter: starts the job, reports its pid and then its exit code
            control.close()
            status = socket.socket(fileno=status_fd)
            started_read, started_write = os.pipe()
            pid = os.fork()
            if pid == 0:
                status.close()
                os.close(started_read)
                os.setsid()  # before its pid is reported, so that killing its process group always reaches it
                os.close(started_write)
                null = os.open(os.devnull, os.O_RDONLY)
                os.dup2(null, 0)
                os.dup2(output, 1)
                os.dup2(errors, 2)
                for fd in {null, output, errors}:
                    os.close(fd)
                return job
            for fd in {output, errors}:
                os.close(fd)
            os.close(started_write)
            os.read(started_read, 1)  # end of file once the job is in its own session
            os.close(started_read)
            try:
                status.send(json.dumps({"pid": pid}).encode())
            except OSError:
                pass
            _, code = os.waitpid(pid, 0)
            try:
                status.send(json.dumps({"returncode": os.waitstatus_to_exitcode(code)}).encode())
            finally:
                os._exit(0)
        for fd in fds:
            os.close(fd)
        while True:  # collect the waiters that have ended
            try:
                if os.waitpid(-1, os.WNOHANG)[0] == 0:
                    break
            except ChildProcessError:
                break


def _run(job: dict) -> None:
    """In the job's process: become ``python <script> <args>`` with the job's environment."""
    os.environ.clear()
    os.environ.update(job["env"])
    os.chdir(job["cwd"])
    script = job["argv"][0]
    sys.argv = list(job["argv"])
    sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
    try:
        runpy.run_path(script, run_name="__main__")
    except SystemExit:
        raise
    except BaseException as error:
        # The traceback python itself prints: from the script's frame on, without runpy's.
        tb = error.__traceback__
        while tb is not None and tb.tb_frame.f_code.co_filename != script:
            tb = tb.tb_next
        error.with_traceback(tb or error.__traceback__)
        sys.excepthook(type(error), error, error.__traceback__)
        sys.exit(1)


def main() -> None:
    control = socket.socket(fileno=int(sys.argv[1]))
    try:
        for module in sys.argv[2:]:
            __import__(module)
    except BaseException:
        control.send(json.dumps({"error": traceback.format_exc(limit=3).strip()}).encode())
        sys.exit(1)
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        control.send(json.dumps({"ready": True}).encode())
    except OSError:  # closed before it was ready
        os._exit(0)
    job = _serve(control)
    del control
    _run(job)


if __name__ == "__main__":
    main()
