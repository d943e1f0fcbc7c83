"""Shared fixtures. Every test runs in stage ``local`` unless it says otherwise."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from emr_platform.config import REPO_ROOT, PlatformConfig, load_config

os.environ.pop("EMR_PLATFORM_STAGE", None)


@pytest.fixture
def config_root(tmp_path: Path) -> Path:
    """A writable copy of config.yml and stages/ to edit in a test."""
    root = tmp_path / "repo"
    root.mkdir()
    shutil.copy(REPO_ROOT / "config.yml", root / "config.yml")
    shutil.copytree(REPO_ROOT / "stages", root / "stages")
    return root


def local_config(lake_root: Path, connect_state: Path | None = None, mode: str = "connect", **sources: str) -> PlatformConfig:
    """Stage ``local`` with its lake (and optionally sources and Spark Connect state) in test directories."""
    config = load_config("local")
    local_spark = {"mode": mode} | ({"state_dir": str(connect_state)} if connect_state else {})
    return config.model_copy(
        update={
            "lake": config.lake.model_copy(update={"root": str(lake_root)}),
            "sources": {**config.sources, **sources},
            "local_spark": config.local_spark.model_copy(update=local_spark),
        }
    )


@pytest.fixture(scope="session")
def connect_state(tmp_path_factory) -> Path:
    """State dir of one Spark Connect server shared by the tests of a session, stopped at the end."""
    from resources.spark_connect import SparkConnectServer

    state = tmp_path_factory.mktemp("spark-connect")
    yield state
    SparkConnectServer(state).stop()


def team_locations(config: PlatformConfig, teams=None) -> dict:
    """The team code locations rebuilt on ``config``: ``{team: Definitions}``."""
    import importlib

    from emr_platform.factory import team_definitions

    teams = teams or list(config.teams)
    locations = {}
    for team in teams:
        module = importlib.import_module(f"assets.{team.replace('-', '_')}")
        locations[team] = team_definitions(team, module.SPECS, Path(module.__file__).parent, config=config)
    return locations
