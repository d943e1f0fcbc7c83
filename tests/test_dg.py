"""``dg`` and ``dagster definitions validate`` on the repository, as a team runs them and as CI does.

Every code location of ``workspace.yaml`` loads in every stage through Dagster's own validation
command (a fresh process per stage, the stage chosen by ``EMR_PLATFORM_STAGE``); ``dg check defs``
loads the teams' dg workspace, parsing SQL assets with Spark's parser; ``dg check yaml`` checks
each team's ``defs.yaml`` files against the SparkAsset schema; a bad one fails it naming file,
line and field.

The commands that only read the repository start together, as one module fixture (``read_only``),
and each test waits for its own: most of a command's wall time is Dagster starting one code server
after another and waiting on it, so together they take a fraction of their time one after another.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from emr_platform.config import REPO_ROOT, available_stages
from assets.lib.components import defs_schema

BIN = Path(sys.executable).parent
TEAMS = ("data_engineering", "data_science", "analytics")


def start(command: list[str], cwd: Path, **env: str) -> subprocess.Popen:
    """``command`` started with the repository importable and Dagster's home in a temporary instance."""
    environ = {k: v for k, v in os.environ.items() if k not in {"EMR_PLATFORM_STAGE", "DAGSTER_HOME"}}
    environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))
    return subprocess.Popen(
        command, cwd=cwd, env={**environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def finish(proc: subprocess.Popen, timeout: float = 600) -> subprocess.CompletedProcess:
    """Wait for ``proc`` (killed after ``timeout`` seconds) and return what it printed."""
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        stdout, stderr = proc.communicate()
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)


def run(command: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess:
    return finish(start(command, cwd, **env))


@pytest.fixture(scope="module")
def read_only():
    """Every command of this module that only reads the repository, started at once:
    ``{name: Popen}``; a test takes its result with ``finish``."""
    commands = {
        **{
            f"validate[{stage}]": start(
                [str(BIN / "dagster"), "definitions", "validate", "-w", "workspace.yaml"], REPO_ROOT,
                EMR_PLATFORM_STAGE=stage,
            )
            for stage in available_stages()
        },
        "check defs": start([str(BIN / "dg"), "check", "defs", "--use-active-venv"], REPO_ROOT),
        **{f"check yaml[{team}]": start([str(BIN / "dg"), "check", "yaml"], REPO_ROOT / "assets" / team) for team in TEAMS},
        "list defs": start([str(BIN / "dg"), "list", "defs", "--json"], REPO_ROOT / "assets" / "analytics"),
    }
    yield commands
    for proc in commands.values():
        finish(proc)


@pytest.mark.parametrize("stage", available_stages())
def test_every_location_loads_in_every_stage(read_only, stage):
    done = finish(read_only[f"validate[{stage}]"])
    assert done.returncode == 0, done.stdout + done.stderr
    for location in ("data-engineering", "data-science", "analytics", "platform"):
        assert f"Validation successful for code location {location}" in done.stderr + done.stdout, location


def test_dg_check_defs_loads_the_teams_workspace(read_only):
    done = finish(read_only["check defs"])
    assert done.returncode == 0, done.stdout + done.stderr
    assert "All definitions loaded successfully." in done.stdout


@pytest.mark.parametrize("team", TEAMS)
def test_dg_check_yaml_accepts_every_teams_defs(read_only, team):
    done = finish(read_only[f"check yaml[{team}]"])
    assert done.returncode == 0, done.stdout + done.stderr
    assert "All component YAML validated successfully." in done.stdout


def test_dg_list_defs_shows_the_yaml_asset_with_the_platforms_policy(read_only):
    done = finish(read_only["list defs"])
    assert done.returncode == 0, done.stdout + done.stderr
    listed = json.loads(done.stdout[done.stdout.index("{"):])
    (asset,) = [a for a in listed["assets"] if a["asset_key"] == "analytics/performance/carrier_monthly"]
    assert asset["group_name"] == "analytics_performance" and "spark" in asset["kinds"]
    assert {"team": "analytics"} in asset["owners"]


def test_dg_check_yaml_names_file_line_and_field_of_a_bad_defs_yaml(tmp_path):
    project = tmp_path / "analytics"
    shutil.copytree(REPO_ROOT / "assets" / "analytics", project, ignore=shutil.ignore_patterns("__pycache__"))
    declared = project / "defs" / "performance" / "carrier_monthly" / "defs.yaml"
    text = declared.read_text().replace("  table: carrier_monthly\n", "  table: carrier_monthly\n  tabel: x\n  job_size: [small]\n")
    declared.write_text(text)
    done = run([str(BIN / "dg"), "check", "yaml"], project)
    assert done.returncode == 1
    assert "defs.yaml:6 - assets.lib.SparkAsset attributes.tabel Additional properties are not allowed" in done.stdout
    assert "defs.yaml:7 - assets.lib.SparkAsset attributes.job_size" in done.stdout


def test_the_committed_defs_schema_is_current():
    """defs.schema.json (what the defs.yaml files' yaml-language-server line points editors at)."""
    assert json.loads((REPO_ROOT / "defs.schema.json").read_text()) == json.loads(json.dumps(defs_schema()))


def test_dg_scaffold_defs_writes_an_asset_dg_check_yaml_accepts(tmp_path):
    project = tmp_path / "analytics"
    shutil.copytree(REPO_ROOT / "assets" / "analytics", project, ignore=shutil.ignore_patterns("__pycache__"))
    done = run([str(BIN / "dg"), "scaffold", "defs", "assets.lib.SparkAsset", "performance/late_flights"], project)
    assert done.returncode == 0, done.stdout + done.stderr
    folder = project / "defs" / "performance" / "late_flights"
    assert sorted(p.name for p in folder.iterdir()) == ["defs.yaml", "late_flights.sql"]
    assert "  table: late_flights\n" in (folder / "defs.yaml").read_text()
    done = run([str(BIN / "dg"), "check", "yaml"], project)
    assert done.returncode == 0, done.stdout + done.stderr
