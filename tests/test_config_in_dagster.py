"""A malformed config file reaches Dagster users as one clear error naming the file, fast.

``dagster definitions validate`` in a fresh process on a copy of the platform holding only
the ``platform`` code location (it loads the config like every location).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from emr_platform.config import REPO_ROOT
from tests.test_config import alias_bomb, line_of

DAGSTER = Path(sys.executable).parent / "dagster"


@pytest.fixture
def platform_copy(tmp_path: Path) -> Path:
    root = tmp_path / "platform"
    for name in ("jobkit", "emr_platform", "resources", "assets/lib", "assets/platform_cost", "stages"):
        shutil.copytree(REPO_ROOT / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("config.yml", "assets/__init__.py"):
        shutil.copy(REPO_ROOT / name, root / name)
    location = {"python_module": {"module_name": "assets.platform_cost", "location_name": "platform"}}
    (root / "workspace.yaml").write_text(yaml.safe_dump({"load_from": [location]}))
    (tmp_path / "dagster_home").mkdir()
    return root


def validate(root: Path) -> str:
    env = {k: v for k, v in os.environ.items() if k != "EMR_PLATFORM_STAGE"} | {
        "PYTHONPATH": str(root),
        "DAGSTER_HOME": str(root.parent / "dagster_home"),
        "EMR_PLATFORM_STAGE": "dev",
    }
    done = subprocess.run(
        [str(DAGSTER), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=root, env=env, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode != 0
    return done.stdout + done.stderr


def test_alias_bomb_in_a_stage_file_fails_the_location_quickly(platform_copy: Path):
    (platform_copy / "stages" / "dev.yml").write_text(alias_bomb(6))
    output = validate(platform_copy)
    assert "stages/dev.yml: expected at most 10000 values with aliases expanded, got more (an alias bomb?)" in output
    assert len(output) < 20_000  # nothing of the expanded document is rendered


def test_non_utf8_config_names_the_file_not_a_decode_traceback(platform_copy: Path):
    path = platform_copy / "config.yml"
    text = path.read_text()
    line = line_of(text, "    description: Carrier performance reporting.")
    path.write_bytes(text.replace("Carrier performance", "Carrier \xe9 performance").encode("latin-1"))
    output = validate(platform_copy)
    assert f"config.yml: line {line}, column 26: expected UTF-8 text, got byte 0xe9" in output
    assert "UnicodeDecodeError" not in output
