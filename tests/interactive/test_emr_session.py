"""Spark Connect sessions on EMR Serverless, played by the EMR simulator on moto over HTTP:
the opener, the ``emr-platform spark session`` command as a real process, and the orphan sensor."""

from __future__ import annotations

import datetime as dt
import re
import signal
import subprocess
import sys
import time

import boto3
import dagster as dg
from pyspark.sql import SparkSession

from assets.platform_cost import platform_definitions
from emr_platform.config import REPO_ROOT
from resources.sessions import emr_session
from tests.conftest import on_aws_call
from tests.emr import sessions as simulated
from tests.interactive.conftest import FLIGHT_ROWS, run_cli

QUERIES = 'spark.range(3).count()\nlake.table("data-engineering/core/flights_clean").count()\n'


def test_opener_starts_tags_connects_and_terminates(emr, dev):
    emr.session_start_seconds = 2  # long enough for a poll to see STARTING on a loaded machine
    states = []
    with emr_session(dev, "data-science", "ada", states.append) as opened:
        (session,) = simulated.sessions()
        assert session["state"] == "IDLE"
        assert session["tags"] == {
            "team": "data-science", "user": "ada", "stage": "dev", "substrate": "emr-serverless",
            "managed-by": "emr-platform", "heartbeat-at": session["tags"]["heartbeat-at"],
        }
        assert session["executionRoleArn"].endswith("role/emr-platform-dev-data-science-serverless")
        assert session["idleTimeoutMinutes"] == dev.emr_serverless.session_idle_timeout_minutes
        assert re.fullmatch(r"sc://localhost:\d+/;token=[0-9a-f]{32}", opened.remote)
        spark = SparkSession.builder.remote(opened.remote).getOrCreate()
        assert spark.range(3).count() == 3
        spark.stop()
    assert simulated.sessions()[0]["state"] == "TERMINATED"
    assert opened.usage.billed and opened.usage.vcpu_hours > 0
    assert any("STARTING" in state for state in states)


def test_an_interrupt_while_start_session_is_in_flight_leaves_no_session(emr, dev, monkeypatch):
    """Ctrl-C arrives after EMR accepted StartSession but before its answer: the session EMR
    started is found again by its client token and terminated. The interrupt is raised from
    botocore's own after-call event of StartSession."""
    emr.session_start_seconds = 0.5
    calls = []

    def interrupt_once(**_):
        calls.append(1)
        if len(calls) == 1:
            raise KeyboardInterrupt

    on_aws_call(monkeypatch, "emr-serverless", "StartSession", interrupt_once)
    try:
        with emr_session(dev, "data-science", "ada", lambda state: None):
            raise AssertionError("the session must not open")
    except KeyboardInterrupt:
        pass
    assert len(calls) == 2  # the interrupted call, and the same client token asked again
    assert [s["state"] for s in simulated.sessions()] in (["TERMINATING"], ["TERMINATED"])
    _wait_for(lambda: [s["state"] for s in simulated.sessions()] == ["TERMINATED"])


def test_session_command_reaches_a_prompt_on_emr_and_terminates_on_exit(emr, dev_repo):
    result = run_cli(dev_repo, "spark", "session", "--team", "data-science", "--stage", "dev", input=QUERIES)
    assert result.returncode == 0, result.stderr
    answers = [line.removeprefix(">>> ").strip() for line in result.stdout.splitlines()]
    assert "3" in answers and str(FLIGHT_ROWS) in answers
    assert re.search(r"ready EMR Serverless session \w+ on application \w+ in [\d.]+ s", result.stderr)
    assert re.search(r"cost USD \d+\.\d{4} \(billed-usage\)", result.stderr)
    assert [s["state"] for s in simulated.sessions()] == ["TERMINATED"]


def _popen(repo, *args: str) -> subprocess.Popen:
    """``emr-platform spark session <args>`` started as from a terminal, where Ctrl-C's SIGINT is
    never ignored: a process inherits an ignored SIGINT (pytest started as a background job of a
    non-interactive shell has one) and Python then leaves it ignored."""
    command = [sys.executable, "-m", "apps.cli", "--root", str(repo), "spark", "session", *args]
    return subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=REPO_ROOT, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def _wait_for(condition, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_ctrl_c_while_the_session_starts_terminates_it(emr, dev_repo):
    emr.session_start_seconds = 600
    proc = _popen(dev_repo, "-t", "data-science", "-s", "dev")
    try:
        _wait_for(lambda: [s["state"] for s in simulated.sessions()] == ["STARTING"])
        proc.send_signal(signal.SIGINT)
        assert proc.wait(60) == 130
    finally:
        proc.kill()
    assert proc.stderr.read().strip().splitlines()[-1] == "error interrupted; nothing was left running"
    assert [s["state"] for s in simulated.sessions()] == ["TERMINATED"]


def test_ctrl_c_in_print_mode_terminates_the_session(emr, dev_repo):
    proc = _popen(dev_repo, "-t", "data-science", "-s", "dev", "--print")
    try:
        remote = proc.stdout.readline().strip()
        assert remote.startswith("sc://localhost:")
        spark = SparkSession.builder.remote(remote).getOrCreate()
        assert spark.range(4).count() == 4
        spark.stop()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(60) == 0
    finally:
        proc.kill()
    assert [s["state"] for s in simulated.sessions()] == ["TERMINATED"]


def test_a_team_without_interactive_is_refused_on_emr(emr, dev_repo):
    result = run_cli(dev_repo, "spark", "session", "--team", "analytics", "--stage", "dev")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "error team analytics has no Spark Connect sessions on EMR Serverless: set `interactive: true` under "
        "teams.analytics in config.yml and run `pulumi up --stack dev`"
    ]
    assert simulated.sessions() == []


def test_a_session_that_fails_to_start_gives_emrs_reason_and_the_application_state(emr, dev_repo):
    emr.session_failure = "Insufficient capacity: the application's maximum capacity of 64 vCPU is in use"
    result = run_cli(dev_repo, "spark", "session", "--team", "data-science", "--stage", "dev")
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()[-1:]
    assert re.fullmatch(
        r"error session \w+ FAILED: Insufficient capacity: the application's maximum capacity of 64 vCPU is in use; "
        r"application emr-platform-dev-data-science is STARTED",
        line,
    )


def _platform_session(dev, **tags: str) -> str:
    client = boto3.client("emr-serverless")
    (application,) = [a for a in client.list_applications()["applications"] if a["name"].endswith("data-science")]
    client.start_application(applicationId=application["id"])
    session_tags = {"team": "data-science", "user": "ada", "stage": "dev", "managed-by": "emr-platform",
                    "heartbeat-at": str(int(time.time())), **tags}
    return client.start_session(applicationId=application["id"], executionRoleArn="arn:aws:iam::123456789012:role/r",
                                tags=session_tags, idleTimeoutMinutes=30)["sessionId"]


def test_orphan_sensor_terminates_idle_and_ownerless_sessions_only(emr, dev, tmp_path):
    stale = _platform_session(dev, **{"heartbeat-at": str(int(time.time()) - 3600)})
    idle, live = _platform_session(dev), _platform_session(dev)
    foreign = _platform_session(dev, **{"managed-by": "someone-else", "heartbeat-at": "0"})
    _wait_for(lambda: all(s["state"] == "IDLE" for s in simulated.sessions()))
    next(s for s in simulated.sessions() if s["sessionId"] == idle)["idleSince"] -= dt.timedelta(minutes=45)

    try:
        sensor = platform_definitions(dev).resolve_sensor_def("emr_orphan_sensor")
        result = sensor.evaluate_tick(dg.build_sensor_context(instance=dg.DagsterInstance.ephemeral()))
        states = {s["sessionId"]: s["state"] for s in simulated.sessions()}
        assert states[stale] in ("TERMINATING", "TERMINATED") and states[idle] in ("TERMINATING", "TERMINATED")
        assert states[live] == "IDLE" and states[foreign] == "IDLE"
        assert "stopped 2 orphan(s)" in result.skip_message
        assert "its owner's process is gone" in result.skip_message
        assert "idle for 45 min, past its limit of 30 min" in result.skip_message
    finally:  # the emr fixture checks nothing is left active
        client = boto3.client("emr-serverless")
        for session in simulated.sessions():
            client.terminate_session(applicationId=session["applicationId"], sessionId=session["sessionId"])
