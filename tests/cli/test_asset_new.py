"""``emr-platform asset new`` on a copy of the repository: a defs.yaml the schema accepts (``dg check
yaml``) and the team's location loads, SQL or PySpark, with its inputs as views."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from emr_platform.config import REPO_ROOT, load_config
from assets.lib import factory
from tests.cli.test_team_new import load_location


@pytest.fixture
def team(cli, repo) -> Path:
    assert cli("team", "new", "ml-ops", "--upstream", "data-engineering").exit_code == 0
    return repo / "assets" / "ml_ops"


def dg_check_yaml(project: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"} | {"PYTHONPATH": str(REPO_ROOT)}
    return subprocess.run(
        [str(Path(sys.executable).parent / "dg"), "check", "yaml"], cwd=project, env=env, capture_output=True, text=True, timeout=300
    )


def test_asset_new_sql_writes_a_defs_yaml_dg_accepts_and_the_location_loads(cli, repo, team, monkeypatch):
    result = cli(
        "asset", "new", "carrier_counts", "--team", "ml-ops", "--domain", "reports", "--sql",
        "--input", "airlines=data-engineering/raw/airlines",
    )
    assert result.exit_code == 0, result.output
    folder = team / "defs" / "reports" / "carrier_counts"
    assert sorted(p.name for p in folder.iterdir()) == ["carrier_counts.sql", "defs.yaml"]
    text = (folder / "defs.yaml").read_text()
    assert text.startswith("# yaml-language-server: $schema=../../../../../defs.schema.json\n")
    assert "  sql: carrier_counts.sql\n  inputs:\n    airlines: data-engineering/raw/airlines\n" in text
    assert "SELECT * FROM airlines" in (folder / "carrier_counts.sql").read_text()
    done = dg_check_yaml(team)
    assert done.returncode == 0 and "All component YAML validated successfully." in done.stdout, done.stdout + done.stderr

    # the real data-engineering location declares the input: it loads; the asset has the team's policy
    monkeypatch.setattr(factory, "load_config", lambda stage=None: load_config(stage, root=repo))
    defs = load_location(repo, "ml-ops", monkeypatch)
    graph = defs.resolve_asset_graph()
    node = graph.get(factory.dg.AssetKey(["ml-ops", "reports", "carrier_counts"]))
    assert [k.to_user_string() for k in node.parent_keys] == ["data-engineering/raw/airlines"]
    assert node.group_name == "ml_ops_reports" and "team:ml-ops" in node.owners


def test_asset_new_pyspark_writes_a_script_beside_the_yaml(cli, team):
    result = cli("asset", "new", "squares_again", "--team", "ml-ops", "--domain", "examples")
    assert result.exit_code == 0, result.output
    folder = team / "defs" / "examples" / "squares_again"
    assert "  script: squares_again.py\n" in (folder / "defs.yaml").read_text()
    assert (folder / "squares_again.py").read_text().rstrip().endswith("jobkit.run(transform)")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["t", "--team", "nobody", "--domain", "d"], "nobody"),
        (["T-1", "--team", "ml-ops", "--domain", "d"], "expected a table of lower-case letters"),
        (["squares", "--team", "ml-ops", "--domain", "examples"], "examples/squares: already exists"),
        (["t", "--team", "ml-ops", "--domain", "d", "--input", "airlines"], "--input: expected name=team/domain/table"),
    ],
)
def test_asset_new_refuses_bad_requests(cli, team, args, message):
    result = cli("asset", "new", *args)
    assert result.exit_code == 1 and message in result.stderr, result.output
