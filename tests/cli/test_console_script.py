"""The installed ``emr-platform`` console script and ``python -m apps.cli`` in real subprocesses."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from emr_platform.config import REPO_ROOT

SCRIPT = Path(sys.executable).parent / "emr-platform"


def run(*args: str, cwd: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k != "EMR_PLATFORM_STAGE"}
    return subprocess.run(args, cwd=cwd, env={**base, **(env or {})}, capture_output=True, text=True, timeout=120)


def test_console_script_upload_preview_and_clean_errors(repo: Path, data_files: Path):
    done = run(str(SCRIPT), "--root", str(repo), "files", "upload", str(data_files / "parts"), "core/flights", "--team", "data-engineering")
    assert done.returncode == 0, done.stderr
    done = run(str(SCRIPT), "--root", str(repo), "files", "preview", "lake://data-engineering/core/flights", "--team", "analytics")
    assert done.returncode == 0 and "parquet, 2 file(s), rows: 25" in done.stdout, done.stderr
    done = run(str(SCRIPT), "--root", str(repo), "files", "ls", "lake://analytics/../data-science", "--team", "analytics")
    assert done.returncode == 1 and "'..' is refused" in done.stderr and "Traceback" not in done.stderr


def test_new_location_passes_dagster_definitions_validate(tmp_path: Path):
    """A full copy of the platform code: ``team new`` through ``python -m apps.cli``, then Dagster loads the
    location the way ``dagster dev -w workspace.yaml`` does (REPO_ROOT is the copy, through PYTHONPATH)."""
    root = tmp_path / "platform"
    for name in ("jobkit", "emr_platform", "resources", "assets/lib", "apps"):
        shutil.copytree(REPO_ROOT / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("config.yml", "workspace.yaml", "assets/__init__.py", "assets/catalog.py"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO_ROOT / name, root / name)
    shutil.copytree(REPO_ROOT / "stages", root / "stages")
    env = {"PYTHONPATH": str(root), "DAGSTER_HOME": str(tmp_path / "dagster_home")}
    (tmp_path / "dagster_home").mkdir()

    done = run(sys.executable, "-m", "apps.cli", "team", "new", "ml-ops", cwd=root, env=env)
    assert done.returncode == 0, done.stderr
    workspace = yaml.safe_load((root / "workspace.yaml").read_text())
    (entry,) = [e for e in workspace["load_from"] if e["python_module"]["location_name"] == "ml-ops"]
    # only the new location: the other teams' packages are not part of this copy
    (root / "only_new.yaml").write_text(yaml.safe_dump({"load_from": [entry]}))
    done = run(str(Path(sys.executable).parent / "dagster"), "definitions", "validate", "-w", "only_new.yaml", cwd=root, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Validation successful for code location ml-ops" in done.stdout + done.stderr
