"""Fixtures of the interactive Spark tests: a repository copy whose stage local uses the tests'
Spark Connect server and holds a small ``flights_clean`` table, and stage dev on moto with the
EMR simulator, each team's application enabled for Spark Connect sessions as infra makes it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from emr_platform import naming
from emr_platform.config import REPO_ROOT, PlatformConfig, deep_merge, load_config
from tests.conftest import SHARED_SERVER, copy_config
from tests.emr import sessions as simulated_sessions
from tests.emr.conftest import build_infra, dev_config, emr, spark_remote  # noqa: F401  (fixtures)

FLIGHT_ROWS = 7


def write_flights(lake_root: Path) -> Path:
    """``<lake>/data-engineering/core/flights_clean/``: one parquet part of :data:`FLIGHT_ROWS` flights."""
    folder = lake_root / "data-engineering" / "core" / "flights_clean"
    folder.mkdir(parents=True, exist_ok=True)
    table = pa.table({"carrier": ["UA", "AA", "B6", "UA", "DL", "AA", "UA"], "dep_delay": [1.0, 5, -2, 0, 12, 3, 7]})
    pq.write_table(table, folder / "part-00000.parquet")
    return folder


def edit_stage(root: Path, stage: str, override: dict) -> None:
    """Deep-merge ``override`` into ``<root>/stages/<stage>.yml``."""
    path = root / "stages" / f"{stage}.yml"
    path.write_text(yaml.safe_dump(deep_merge(yaml.safe_load(path.read_text()) or {}, override)))


@pytest.fixture
def repo(tmp_path: Path, connect_state: Path) -> Path:
    """A copy of config.yml and stages/ whose stage local has flights_clean in its lake and leases the
    tests' shared Spark Connect server with the settings every other test leases it with
    (:data:`tests.conftest.SHARED_SERVER`), so that no command restarts it."""
    root = copy_config(tmp_path / "repo")
    edit_stage(root, "local", {"local_spark": {"state_dir": str(connect_state), **SHARED_SERVER}})
    config = load_config("local", root=root)
    write_flights(Path(config.lake.root))
    return root


def run_cli(repo: Path, *args: str, input: str = "", env: dict[str, str] | None = None, timeout: float = 300):
    """``emr-platform --root <repo> <args>`` as a real process (stdin ``input``); its CompletedProcess."""
    return subprocess.run(
        [sys.executable, "-m", "apps.cli", "--root", str(repo), *args],
        input=input, capture_output=True, text=True, timeout=timeout, cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT), **(env or {})},
    )


def enable_sessions(config: PlatformConfig) -> None:
    """Each interactive team's application with sessionEnabled, as infra builds it for interactive teams."""
    client = boto3.client("emr-serverless")
    names = {naming.serverless_application(config, team): team for team in config.teams}
    for application in client.list_applications()["applications"]:
        if application["name"] in names and config.teams[names[application["name"]]].interactive:
            simulated_sessions.enable_sessions(application["id"])


@pytest.fixture
def dev(aws: str, tmp_path: Path) -> PlatformConfig:
    """Stage dev on moto: what infra builds, sessions enabled for the interactive teams, flights_clean in the lake.

    The lake stays on local disk here: a session's client makes its own Spark Connect session on
    the simulator's shared server, which the simulator cannot set up with the session role's S3A
    credentials as it does a job's (tests/emr/harness.py)."""
    config = dev_config()
    build_infra(config)
    enable_sessions(config)
    config = config.model_copy(update={"lake": config.lake.model_copy(update={"root": str(tmp_path / "lake")})})
    write_flights(tmp_path / "lake")
    return config


@pytest.fixture
def dev_repo(repo: Path, dev: PlatformConfig) -> Path:
    """The repository copy with stage dev pointed where ``dev`` is: lake on local disk, short polls."""
    edit_stage(repo, "dev", {"lake": {"root": dev.lake.root}, "emr_serverless": {"poll_interval_seconds": 0.1}})
    return repo
