"""A copy of the repository's config whose prod lake, artifacts and logs roots carry key prefixes."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from emr_platform.config import REPO_ROOT

LAKE = "s3://emr-platform-prod-lake/warehouse/v1"
ARTIFACTS = "s3://emr-platform-prod-artifacts/emr"
LOGS = "s3://emr-platform-prod-logs/emr"
SOURCE = f"{LAKE}/landing/nycflights13"


def key_prefixed_root(directory: Path, lake: str = LAKE, artifacts: str = ARTIFACTS, logs: str = LOGS) -> Path:
    """Write config.yml and stages/ to ``directory``, prod's roots under key prefixes (the source
    under the lake root); returns it."""
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO_ROOT / "config.yml", directory / "config.yml")
    shutil.copytree(REPO_ROOT / "stages", directory / "stages", dirs_exist_ok=True)
    stage = directory / "stages" / "prod.yml"
    data = yaml.safe_load(stage.read_text())
    data["lake"] = {"root": lake, "artifacts_root": artifacts, "logs_root": logs}
    data["sources"] = {"nycflights13": f"{lake}/landing/nycflights13"}
    stage.write_text(yaml.safe_dump(data))
    return directory
