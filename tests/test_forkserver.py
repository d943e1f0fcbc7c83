"""The job forkserver (resources/forkserver.py): a job script forked from it runs as ``python
<script>`` would, in its own session, and the local launcher falls back to a new process when it
cannot serve."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import OrderedDict
from pathlib import Path

import dagster as dg
import pytest

from emr_platform.config import load_config
from emr_platform.launcher import SparkJob, SparkJobError
from resources import forkserver
from resources.forkserver import Forkserver, ForkserverError, environment_key, forkserver_for
from resources.local_spark import LocalSparkLauncher, run_script

PROBE = '''
import os, sys
print("name", __name__)
print("argv", sys.argv)
print("path0", sys.path[0])
print("cwd", os.getcwd())
print("env", os.environ.get("PROBE"), os.environ.get("DAGSTER_PIPES_CONTEXT"))
print("stdin", repr(sys.stdin.read()))
print("own session", os.getsid(0) == os.getpid() == os.getpgid(0))
print("error line", file=sys.stderr)
if sys.argv[1:] == ["exit"]:
    sys.exit(3)
if sys.argv[1:] == ["raise"]:
    raise ValueError("the script failed")
'''


@pytest.fixture
def probe(tmp_path: Path) -> Path:
    (tmp_path / "jobs").mkdir()
    (path := tmp_path / "jobs" / "probe.py").write_text(PROBE)
    return path


def plain(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    done = subprocess.run(args, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, start_new_session=True, check=False)
    return done.returncode, done.stdout


def forked(server: Forkserver, args: list[str], env: dict[str, str]) -> tuple[int, str]:
    job = server.start(args, env)
    output = job.stdout.read()
    return job.wait(30), output


def test_a_forked_job_runs_as_python_would(probe, monkeypatch):
    """Name, arguments, import path, working directory, environment, standard input, session,
    output, traceback and exit code are those of ``python <script>``; only the fork has pyspark
    imported before the script starts."""
    env = {**os.environ, "PROBE": "yes"}
    server = Forkserver(env)
    try:
        for argument, context in (([], "first"), (["exit"], "second"), (["raise"], "third")):
            job_env = {**env, "DAGSTER_PIPES_CONTEXT": context}  # Pipes' per-launch variables differ
            args = [sys.executable, str(probe), *argument]
            assert forked(server, args, job_env) == plain(args, job_env)
        monkeypatch.chdir(probe.parent)  # the launching process's working directory at each launch
        args = [sys.executable, probe.name]
        assert forked(server, args, env) == plain(args, env)
        elsewhere = probe.parent.parent  # or the one given, with standard error apart (as the EMR simulator runs)
        args = [sys.executable, str(probe), "raise"]
        separate = subprocess.run(args, env=env, cwd=elsewhere, stdin=subprocess.DEVNULL, capture_output=True,
                                  text=True, check=False, start_new_session=True)
        job = server.start(args, env, cwd=elsewhere, stderr=True)
        assert job.communicate() == (separate.stdout, separate.stderr)
        assert job.returncode == separate.returncode == 1
        assert f"cwd {elsewhere}" in separate.stdout
        check = probe.parent / "check.py"
        check.write_text('import sys\nprint("pyspark.sql.connect.session" in sys.modules)\n')
        assert forked(server, [sys.executable, str(check)], env) == (0, "True\n")
        assert plain([sys.executable, str(check)], env) == (0, "False\n")
    finally:
        server.close()
    assert server.process.returncode == 0


def test_killing_the_jobs_process_group_kills_what_it_started_and_reports_the_signal(tmp_path):
    """As with ``Popen(start_new_session=True)``: the job leads its own process group, so killing
    the group also kills the processes the script started (e.g. a classic session's JVM)."""
    script = tmp_path / "sleeper.py"
    script.write_text(
        "import subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        "print(child.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    server = Forkserver(dict(os.environ))
    try:
        job = server.start([sys.executable, str(script)], dict(os.environ))
        grandchild = int(job.stdout.readline())
        with pytest.raises(subprocess.TimeoutExpired):
            job.wait(0.2)
        assert job.poll() is None
        os.killpg(job.pid, signal.SIGKILL)
        assert job.wait(30) == -signal.SIGKILL
        deadline = time.monotonic() + 10
        while _alive(grandchild) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(grandchild)
    finally:
        server.close()


def test_a_job_whose_waiter_dies_is_reported_killed(tmp_path):
    """The forkserver's process that waits on a job reports its exit; if that process dies, the
    job counts as killed (``-9``), so the launcher fails the asset and kills the job's group."""
    script = tmp_path / "orphan.py"
    script.write_text("import os, time\nprint(os.getppid(), flush=True)\ntime.sleep(60)\n")
    server = Forkserver(dict(os.environ))
    try:
        job = server.start([sys.executable, str(script)], dict(os.environ))
        os.kill(int(job.stdout.readline()), signal.SIGKILL)
        assert job.wait(30) == -signal.SIGKILL
        os.killpg(job.pid, signal.SIGKILL)
    finally:
        server.close()


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_one_forkserver_per_environment_but_pipes_variables(monkeypatch):
    """A job whose environment differs in anything but ``DAGSTER_*``, ``SPARK_REMOTE`` and
    ``PYTEST_CURRENT_TEST`` gets another forkserver (a module may read the environment when
    imported); of more than three, the least recently used stops."""
    monkeypatch.setattr(forkserver, "_servers", OrderedDict())
    env = dict(os.environ)
    try:
        first = forkserver_for(env)
        per_launch = {"DAGSTER_PIPES_MESSAGES": "x", "DAGSTER_HOME": "/tmp/h", "SPARK_REMOTE": "sc://127.0.0.1:1",
                      "PYTEST_CURRENT_TEST": "test_x (call)"}
        assert forkserver_for({**env, **per_launch}) is first
        second = forkserver_for({**env, "PYTHONPATH": "/elsewhere"})
        assert second is not first
        third = forkserver_for({**env, "GRPC_VERBOSITY": "debug"})
        assert forkserver_for(env) is first
        fourth = forkserver_for({**env, "PYTHONPATH": "/fourth"})
        assert second.process.wait(10) == 0
        assert first.process.poll() is None
        assert list(forkserver._servers.values()) == [third, first, fourth]
        with pytest.raises(ForkserverError, match="environment differs"):
            fourth.start([sys.executable, "-c", "pass"], env)
    finally:
        forkserver.stop_forkservers()
    assert first.process.returncode == third.process.returncode == fourth.process.returncode == 0


def test_a_forkserver_that_cannot_import_its_preload_says_why():
    server = Forkserver(dict(os.environ), preload=["no_such_module_anywhere"])
    with pytest.raises(ForkserverError, match="No module named 'no_such_module_anywhere'"):
        server.start([sys.executable, "-c", "pass"], dict(os.environ))
    assert server.process.wait(30) == 1


def _job(tmp_path: Path, script: Path, timeout_seconds: int = 600) -> SparkJob:
    config = load_config(stage="local")
    return SparkJob(
        team="analytics", asset_key=dg.AssetKey(["analytics", "probe", "t"]), script=script, inputs={},
        output=str(tmp_path / "out"), size_name="small", size=config.job_sizes["small"], checks=[], params={},
        timeout_seconds=timeout_seconds,
    )


def test_the_launcher_times_out_a_forked_job_and_leaves_nothing_running(tmp_path, monkeypatch):
    monkeypatch.setattr(forkserver, "_servers", OrderedDict())
    script = tmp_path / "slow.py"
    script.write_text(
        "import subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        "print('grandchild', child.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    job = _job(tmp_path, script, timeout_seconds=3)
    with dg.build_asset_context() as context, pytest.raises(SparkJobError, match="timed out after 3 s") as failure:
        run_script(context, job, [sys.executable, str(script)], dict(os.environ), "local", forkserver=True)
    grandchild = int(failure.value.log_tail.split()[-1])
    assert len(forkserver._servers) == 1  # it ran as a fork
    deadline = time.monotonic() + 10
    while _alive(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(grandchild)
    forkserver.stop_forkservers()


def test_the_launcher_starts_a_new_process_when_the_forkserver_cannot_serve(tmp_path, monkeypatch):
    """The job still runs, in a new Python process, and its failure still carries its output."""
    monkeypatch.setattr(forkserver, "_servers", OrderedDict())
    monkeypatch.setattr(forkserver, "PRELOAD", ("no_such_module_anywhere",))
    script = tmp_path / "failing.py"
    script.write_text(
        "import sys\n"
        "print('preloaded', 'pyspark.sql.connect.session' in sys.modules)\n"
        "raise ValueError('the script failed')\n"
    )
    with dg.build_asset_context() as context, pytest.raises(SparkJobError, match="exited with code 1") as failure:
        run_script(context, _job(tmp_path, script), [sys.executable, str(script)], dict(os.environ), "local",
                   forkserver=True)
    assert "preloaded False" in failure.value.log_tail
    assert "ValueError: the script failed" in failure.value.log_tail
    [server] = forkserver._servers.values()
    assert server.process.wait(30) == 1


@pytest.mark.parametrize("mode", ["classic", "connect"])
def test_a_launchers_prestart_starts_the_forkserver_its_jobs_use(monkeypatch, tmp_path, mode):
    """``prestart`` (at the start of a run) and each launch (before it waits for the server) start
    the forkserver its jobs will use, so that its imports overlap Dagster's and the JVM's start."""
    monkeypatch.setattr(forkserver, "_servers", OrderedDict())
    launcher = LocalSparkLauncher(load_config(stage="local").local_spark.model_copy(update={"mode": mode}))
    launcher._prestart_forkserver(launcher.job_env())  # prestart() without the server's JVM
    try:
        [server] = forkserver._servers.values()
        job_env = {**launcher.job_env(), "DAGSTER_PIPES_CONTEXT": "c", "DAGSTER_PIPES_MESSAGES": "m"}
        if mode == "connect":
            job_env["SPARK_REMOTE"] = "sc://127.0.0.1:15002"
        else:
            assert "pyspark-shell" in job_env["PYSPARK_SUBMIT_ARGS"]
        assert forkserver_for(job_env) is server
        assert server.key == environment_key(job_env)
    finally:
        forkserver.stop_forkservers()
