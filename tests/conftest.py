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


def local_config(lake_root: Path, **sources: str) -> PlatformConfig:
    """Stage ``local`` with its lake (and optionally sources) moved to a test directory."""
    config = load_config("local")
    return config.model_copy(
        update={
            "lake": config.lake.model_copy(update={"root": str(lake_root)}),
            "sources": {**config.sources, **sources},
        }
    )
