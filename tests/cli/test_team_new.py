"""``emr-platform team new`` on a copy of the repository, then loading the new code location."""

from __future__ import annotations

import difflib
import functools
import importlib.util
import shutil
import sys
import tomllib
from pathlib import Path

import dagster as dg
import pytest

from apps.scaffold import TeamRequest, new_team
from emr_platform.config import REPO_ROOT, load_config
from assets.lib import factory
from emr_platform.workspace import workspace_locations
from tests.conftest import SHARED_SERVER


def load_location(root: Path, team: str, monkeypatch) -> dg.Definitions:
    """Import ``<root>/assets/<team>/__init__.py`` as Dagster would, its config read from ``root``."""
    # The generated module calls team_definitions() without a config: bind the real loader to the copy.
    monkeypatch.setattr(factory, "load_config", functools.partial(load_config, root=root))
    package = root / "assets" / team.replace("-", "_")
    name = f"assets.{package.name}"
    spec = importlib.util.spec_from_file_location(name, package / "__init__.py", submodule_search_locations=[str(package)])
    module = importlib.util.module_from_spec(spec)
    for stale in [m for m in sys.modules if m.startswith(f"{name}.")]:  # e.g. the defs package of another copy
        monkeypatch.delitem(sys.modules, stale)
    monkeypatch.setitem(sys.modules, name, module)
    spec.loader.exec_module(module)
    return module.defs


def test_team_new_declares_scaffolds_and_lists_the_location(cli, repo, monkeypatch):
    before = (repo / "config.yml").read_text()
    locations_before = list(workspace_locations(repo))
    result = cli("team", "new", "ml-ops", "--owner", "mlops@example.com", "--upstream", "data-science", "--budget-usd", "250")
    assert result.exit_code == 0, result.output

    after = (repo / "config.yml").read_text()
    # only insertions: every original line (comments included) stays, in order
    edits = difflib.SequenceMatcher(a=before.splitlines(), b=after.splitlines(), autojunk=False).get_opcodes()
    assert {op for op, *_ in edits} == {"equal", "insert"}
    assert "  ml-ops:\n    description: Team ml-ops.\n    owners: [mlops@example.com]" in after
    team = load_config("local", root=repo).team("ml-ops")
    assert (team.owners, team.upstream_teams, team.budget_usd, team.job_size) == (["mlops@example.com"], ["data-science"], 250, "small")

    assert workspace_locations(repo)["ml-ops"] == "assets.ml_ops"
    # after the last team, the platform's location still last
    platform = locations_before.index("platform")
    assert list(workspace_locations(repo)) == [*locations_before[:platform], "ml-ops", *locations_before[platform:]]
    package = repo / "assets" / "ml_ops"
    assert sorted(p.relative_to(package).as_posix() for p in package.rglob("*") if p.is_file()) == [
        "__init__.py", "defs/__init__.py", "defs/examples/squares/defs.yaml", "defs/examples/squares/squares.sql", "dg.toml",
    ]  # no Python of the team's for a SQL asset: the location module and an empty defs package only
    assert "sql: squares.sql" in (package / "defs" / "examples" / "squares" / "defs.yaml").read_text()

    defs = load_location(repo, "ml-ops", monkeypatch)
    dg.Definitions.validate_loadable(defs)
    graph = defs.resolve_asset_graph()
    (key,) = [k for k in graph.get_all_asset_keys() if graph.get(k).is_materializable]
    node = graph.get(key)
    assert key.path == ["ml-ops", "examples", "squares"]
    assert {"team:ml-ops", "mlops@example.com"} <= set(node.owners)
    assert set(node.kinds) == {"spark", "local"}  # stage local forces local Spark
    assert node.tags["team"] == "ml-ops" and node.check_keys


COMMENTED_WORKSPACE = """\
# Code locations: one per team, then the platform's.
load_from:
  - python_module:
      module_name: assets.data_engineering
      location_name: data-engineering

  # analytics reads data-engineering's tables
  - python_module:
      module_name: assets.analytics
      location_name: analytics  # the analysts

  # platform-wide: cost report, budget and orphan sensors (keep last)
  - python_module:
      module_name: assets.platform_cost
      location_name: platform
# end
"""


def test_team_new_lists_the_location_after_the_last_team_keeping_comments(cli, repo):
    """The comment and blank line above `platform` stay above it; the last team keeps its end-of-line comment."""
    (repo / "workspace.yaml").write_text(COMMENTED_WORKSPACE)
    assert cli("team", "new", "ml-ops").exit_code == 0
    lines = COMMENTED_WORKSPACE.splitlines()
    after_analytics = lines.index("      location_name: analytics  # the analysts") + 1
    new_entry = ["  - python_module:", "      module_name: assets.ml_ops", "      location_name: ml-ops"]
    expected = [*lines[:after_analytics], *new_entry, *lines[after_analytics:]]
    assert (repo / "workspace.yaml").read_text().splitlines() == expected
    assert list(workspace_locations(repo)) == ["data-engineering", "analytics", "ml-ops", "platform"]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("Data_Science", "expected a team name"),
        ("9lives", "expected a team name"),
        ("double--hyphen", "expected a team name"),
        ("x", "expected a team name"),
        ("analytics", "teams.analytics: team is already declared"),
        ("json", "would shadow the Python module"),
        ("pandas", "would shadow the Python module"),
    ],
)
def test_team_new_refuses_bad_or_taken_names(cli, repo, name, message):
    before = {p: p.read_text() for p in (repo / "config.yml", repo / "workspace.yaml")}
    result = cli("team", "new", name)
    assert result.exit_code == 1 and message in result.stderr and "Traceback" not in result.output
    assert {p: p.read_text() for p in before} == before
    assert not any((repo / "assets").iterdir())


def test_team_new_refuses_a_name_taken_by_a_module_of_assets(cli, repo):
    (repo / "assets" / "jobkit.py").write_text("# the job-side kit\n")
    result = cli("team", "new", "jobkit")
    assert result.exit_code == 1 and "assets/jobkit: already exists" in result.stderr
    assert sorted(p.name for p in (repo / "assets").iterdir()) == ["jobkit.py"]


def test_team_new_leaves_nothing_behind_when_the_config_would_be_invalid(repo):
    before = {p: p.read_text() for p in (repo / "config.yml", repo / "workspace.yaml")}
    with pytest.raises(Exception, match="teams.ml-ops.job_size: expected one of"):
        new_team(TeamRequest("ml-ops", job_size="huge"), root=repo)
    assert {p: p.read_text() for p in before} == before
    assert not (repo / "assets" / "ml_ops").exists()


def test_the_real_repository_is_untouched():
    assert "ml-ops" not in load_config("local", root=REPO_ROOT).teams


def test_scaffolded_asset_materializes_on_local_spark(cli, repo, tmp_path, connect_state, monkeypatch):
    """The example SQL asset runs for real (the suite's shared Spark Connect server), and its materialization
    carries the markdown preview and column schema the Dagster UI shows."""
    assert cli("team", "new", "ml-ops").exit_code == 0
    module_defs = load_location(repo, "ml-ops", monkeypatch)
    config = load_config("local", root=repo)
    config = config.model_copy(
        update={
            "lake": config.lake.model_copy(update={"root": str(tmp_path / "lake")}),
            "local_spark": config.local_spark.model_copy(update={"state_dir": str(connect_state), **SHARED_SERVER}),
        }
    )
    specs = sys.modules["assets.ml_ops"].SPECS
    defs = factory.team_definitions("ml-ops", specs, repo / "assets" / "ml_ops", config=config, package="assets.ml_ops")
    keys = defs.resolve_asset_graph().get_all_asset_keys()
    assert keys == module_defs.resolve_asset_graph().get_all_asset_keys()
    with dg.DagsterInstance.ephemeral() as instance:
        result = defs.resolve_job_def("all_assets").execute_in_process(instance=instance)
        assert result.success
        key = dg.AssetKey(["ml-ops", "examples", "squares"])
        metadata = instance.get_latest_materialization_event(key).asset_materialization.metadata
    assert metadata["dagster/row_count"].value == 100
    header, rule, *rows = metadata["preview"].value.splitlines()
    assert (header, rule, len(rows)) == ("| n | square |", "|---|---|", 5)
    for row in rows:  # which five rows Spark returns first is not fixed
        n, square = (int(cell) for cell in row.strip("| ").split(" | "))
        assert square == n * n
    assert [c.name for c in metadata["dagster/column_schema"].schema.columns] == ["n", "square"]
    checks = [e.event_specific_data for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"]
    assert len(checks) == 1 and all(check.passed for check in checks)


def test_team_new_adds_the_package_to_the_team_layer_of_the_import_contracts(cli, repo):
    shutil.copy(REPO_ROOT / "pyproject.toml", repo / "pyproject.toml")
    assert cli("team", "new", "ml-ops").exit_code == 0
    config = tomllib.loads((repo / "pyproject.toml").read_text())["tool"]["importlinter"]
    (teams,) = [c for c in config["contracts"] if c.get("containers") == ["assets"]]
    assert [name.strip() for name in teams["layers"][0].split(":")] == sorted(
        ["catalog", *(module.removeprefix("assets.") for module in workspace_locations(repo).values())]
    )
    assert teams["layers"][1:] == ["lib"]


def test_a_refused_team_new_leaves_pyproject_as_it_was(cli, repo):
    shutil.copy(REPO_ROOT / "pyproject.toml", repo / "pyproject.toml")
    before = (repo / "pyproject.toml").read_text()
    assert cli("team", "new", "ml-ops", "--job-size", "enormous").exit_code == 1
    assert (repo / "pyproject.toml").read_text() == before
