"""``emr-platform spark session`` in stage local: a real prompt on the warm Spark Connect server."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys

import grpc
import pytest
from pyspark.errors import RetriesExceeded
from pyspark.errors.exceptions.connect import SparkConnectGrpcException
from pyspark.sql import SparkSession
from pyspark.sql.connect.client.retries import DefaultPolicy

from apps.spark_commands import PROMPT_RETRIES, connection_lost
from emr_platform.config import REPO_ROOT, load_config
from resources.local_spark import LocalSparkLauncher
from tests.interactive.conftest import FLIGHT_ROWS, edit_stage, run_cli

QUERIES = """spark.range(3).count()
lake.table("data-engineering/core/flights_clean").count()
lake.table("analytics/core/carrier_monthly").count()
"""


def server_pid(repo) -> int:
    config = load_config("local", root=repo)
    server = LocalSparkLauncher(config.local_spark).server()
    with server.lease():  # starts it if needed, with the settings the command uses
        return server.status()["pid"]


def test_prompt_reads_the_team_table_refuses_others_and_reuses_the_server(repo):
    pid = server_pid(repo)
    result = run_cli(repo, "spark", "session", "--team", "data-science", input=QUERIES)
    assert result.returncode == 0, result.stderr
    answers = [line.removeprefix(">>> ").strip() for line in result.stdout.splitlines()]
    assert "3" in answers and str(FLIGHT_ROWS) in answers
    assert (
        "error: lake://analytics/core/carrier_monthly: 'analytics' is not data-science's prefix; "
        "data-science may read data-science, data-engineering and write only data-science"
    ) in result.stderr.splitlines()
    assert "Traceback" not in result.stdout + result.stderr
    assert re.search(r"ready the local Spark Connect server at sc://127\.0\.0\.1:\d+ in [\d.]+ s", result.stderr)
    assert re.search(r"closed .*: \d+ s, cost USD \d+\.\d{4} \(emr-serverless-equivalent\)", result.stderr)
    assert server_pid(repo) == pid  # the warm server was used, not a new one


def test_print_gives_a_remote_any_pyspark_client_uses_until_stdin_closes(repo):
    command = [sys.executable, "-m", "apps.cli", "--root", str(repo), "spark", "session", "-t",
               "analytics", "--print"]
    proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=REPO_ROOT)
    try:
        remote = proc.stdout.readline().strip()
        assert re.fullmatch(r"sc://127\.0\.0\.1:\d+", remote)
        spark = SparkSession.builder.remote(remote).getOrCreate()
        spark.client.set_retry_policies([DefaultPolicy(**PROMPT_RETRIES)])  # fail in seconds, not pyspark's minutes
        assert spark.read.parquet(str(repo / ".lake/data-engineering/core/flights_clean")).count() == FLIGHT_ROWS
        spark.stop()
        proc.stdin.close()
        assert proc.wait(60) == 0
    finally:
        proc.kill()
    assert "closed the local Spark Connect server" in proc.stderr.read()


def test_a_team_that_does_not_exist_is_one_line_naming_the_declared_teams(repo):
    result = run_cli(repo, "spark", "session", "--team", "marketing")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "error config.yml: teams.marketing: team is not declared (declared: analytics, data-engineering, data-science)"
    )


def test_a_lost_connection_is_one_line_at_the_prompt_and_the_session_still_closes(repo, tmp_path):
    """The server dies mid-session: the next query reports the lost connection in one line within
    the prompt's bounded retries (not pyspark's minutes of back-off), and Ctrl-D still ends cleanly."""
    # The server it kills is one of its own, not the one the other tests of its session share.
    edit_stage(repo, "local", {"local_spark": {"state_dir": str(tmp_path / "killed"), "cores": 1, "driver_memory_gb": 1}})
    pid = server_pid(repo)
    queries = f"spark.range(3).count()\nimport os, signal, time; os.kill({pid}, signal.SIGKILL); time.sleep(2)\nspark.range(4).count()\n"
    result = run_cli(repo, "spark", "session", "--team", "data-science", input=queries)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    assert result.returncode == 0, result.stderr
    assert "3" in [line.removeprefix(">>> ").strip() for line in result.stdout.splitlines()]
    lost = [line for line in result.stderr.splitlines() if "lost the connection" in line]
    assert lost and lost[0].startswith("error: lost the connection to the local Spark Connect server at sc://127.0.0.1:")
    assert "Traceback" not in result.stdout + result.stderr
    assert "closed the local Spark Connect server" in result.stderr


class FailedCall(grpc.RpcError):
    def __init__(self, code: grpc.StatusCode):
        self._code = code

    def code(self) -> grpc.StatusCode:
        return self._code


def raised(error: BaseException, wrapped_as) -> BaseException:
    """``wrapped_as`` raised from ``error`` as pyspark raises it: the error of retries that gave up
    (``raise ... from``), else a Spark Connect error with the call as context only (``from None``)."""
    try:
        try:
            raise error
        except grpc.RpcError as call:
            if wrapped_as is RetriesExceeded:
                raise RetriesExceeded(errorClass="RETRIES_EXCEEDED", messageParameters={}) from call
            raise wrapped_as("failed to connect to all addresses") from None
    except Exception as outer:
        return outer


@pytest.mark.parametrize("wrapped_as", [RetriesExceeded, SparkConnectGrpcException])
def test_a_lost_connection_is_known_by_the_calls_grpc_status_not_its_message(wrapped_as):
    assert connection_lost(raised(FailedCall(grpc.StatusCode.UNAVAILABLE), wrapped_as))
    assert connection_lost(raised(FailedCall(grpc.StatusCode.DEADLINE_EXCEEDED), wrapped_as))
    assert not connection_lost(raised(FailedCall(grpc.StatusCode.INVALID_ARGUMENT), wrapped_as))
    assert not connection_lost(ValueError("UNAVAILABLE: Connection refused"))
