"""The layers run one way: the import-linter contracts of ``pyproject.toml`` hold, and they fail on
a deliberately wrong import (upward, lazy inside a function, sideways into a cycle).

import-linter (grimp) reads every ``import`` of the packages, those inside functions too: a lazy
import still ties two modules together.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from emr_platform.config import REPO_ROOT
from emr_platform.workspace import workspace_locations

LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
PACKAGES = ("apps", "assets", "resources", "emr_platform", "jobkit", "infra")


def lint(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(root / "pyproject.toml"), "--no-cache"],
        cwd=root, capture_output=True, text=True, timeout=120,
    )


def contracts() -> list[dict]:
    return tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]


def test_the_contracts_are_kept():
    done = lint(REPO_ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "broken" not in done.stdout.split("Contracts:")[-1].replace("0 broken", "")


def test_every_layered_package_is_a_root_of_the_contracts():
    config = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    assert set(config["root_packages"]) == set(PACKAGES)


def test_the_team_layer_lists_every_team_location():
    (teams,) = [c for c in contracts() if c.get("containers") == ["assets"]]
    listed = {name.strip() for name in teams["layers"][0].split(":")}
    assert listed == {"catalog", *(module.removeprefix("assets.") for module in workspace_locations().values())}


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy of the layered packages and ``pyproject.toml``, to break one import in."""
    for package in PACKAGES:
        shutil.copytree(REPO_ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__", "*.sql", "*.yaml"))
    shutil.copy(REPO_ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


@pytest.mark.parametrize(
    ("module", "added", "contract"),
    [
        ("emr_platform/pricing.py", "import resources.launchers\n", "applications > code locations"),
        ("emr_platform/pricing.py", "def _lazy():\n    from assets.lib import factory\n", "applications > code locations"),
        ("resources/emr/launch.py", "from apps import demo\n", "applications > code locations"),
        ("assets/lib/factory.py", "import assets.analytics\n", "team locations and their catalog >"),
        ("assets/lib/components.py", "def _lazy():\n    from assets import catalog\n", "team locations and their catalog >"),
        ("infra/program.py", "import resources\n", "infra builds on the library alone"),
        ("jobkit/__init__.py", "import dagster\n", "the job kit, shipped to EMR"),
        ("emr_platform/lake/prefixes.py", "def _lazy():\n    from emr_platform import naming\n", "no two modules or packages"),
    ],
)
def test_a_wrong_import_breaks_a_contract(tree: Path, module: str, added: str, contract: str):
    path = tree / module
    path.write_text(path.read_text() + "\n" + added)
    if module == "emr_platform/lake/prefixes.py":  # the other half of that cycle
        assert "from emr_platform.lake import prefixes" in (tree / "emr_platform/naming.py").read_text()
    done = lint(tree)
    assert done.returncode == 1, done.stdout + done.stderr
    broken = [line for line in done.stdout.splitlines() if line.endswith(" BROKEN")]
    assert [line for line in broken if line.startswith(contract)], done.stdout
