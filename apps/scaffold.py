"""``team new``: declare a team in config.yml, scaffold its code location, list it in workspace.yaml
after the last team's location (before the platform's own).

config.yml and workspace.yaml are edited with ruamel.yaml's round-trip mode, so their comments
and key order stay. Nothing is written unless every stage still validates with the new team;
on a failure the files written so far are put back.
"""

from __future__ import annotations

import copy
import importlib.util
import re
import shutil
import sys
from dataclasses import dataclass, field
from io import StringIO
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from emr_platform.config import CONFIG_FILE, REPO_ROOT, TEAM_NAME_PATTERN, ConfigError, available_stages, load_config
from assets.lib.asset_files import asset_files

WORKSPACE_FILE = "workspace.yaml"
EXAMPLE_DOMAIN = "examples"
# Not a standard-library module name: the script's folder comes first on sys.path when it runs.
EXAMPLE_TABLE = "squares"

INIT_TEMPLATE = '''"""Code location of team {name}: Spark assets declared in YAML under defs/ (one folder per asset,
`emr-platform asset new --team {name}`), and Python SparkAssets in SPECS if any."""

from pathlib import Path

from assets.catalog import declared_specs
from assets.lib.factory import team_definitions
from emr_platform.spec import SparkAsset

SPECS: list[SparkAsset] = []

defs = team_definitions("{name}", SPECS, Path(__file__).parent, declared_specs=declared_specs, package=__name__)
'''

DEFS_INIT_TEMPLATE = '''"""YAML-declared Spark assets of team {name}: one folder per asset with its defs.yaml."""
'''

DG_PROJECT_TEMPLATE = """# Team {name} as a dg project: its YAML assets live in defs/ (a Python package named `defs` seen
# from this folder), its code location is the module assets.{package} (workspace.yaml).
directory_type = "project"

[project]
root_module = "defs"
defs_module = "defs"
code_location_target_module = "assets.{package}"
code_location_name = "{name}"
registry_modules = ["assets.lib"]
"""

DG_WORKSPACE_FILE = "dg.toml"


@dataclass(frozen=True)
class AssetRequest:
    """A new YAML Spark asset ``[team, domain, table]``: SQL (``sql=True``) or a PySpark script;
    ``inputs`` maps view (or input) names to asset keys ``team/domain/table``."""

    team: str
    domain: str
    table: str
    sql: bool = True
    inputs: dict[str, str] = field(default_factory=dict)
    description: str = ""


def new_asset(request: AssetRequest, root: Path | str = REPO_ROOT) -> list[Path]:
    """Write ``assets/<team>/defs/<domain>/<table>/defs.yaml`` and its ``<table>.sql`` (or ``.py``);
    returns the files written. The query (or script) reads the first input, or makes an example
    table without inputs. Raises ``ConfigError`` for an undeclared team, a team without a
    ``defs/`` folder, a bad domain or table name, or an asset folder that exists.
    """
    root = Path(root)
    load_config(root=root).team(request.team)
    defs_dir = root / "assets" / request.team.replace("-", "_") / "defs"
    if not (defs_dir / "__init__.py").is_file():
        raise ConfigError([f"{defs_dir}: no defs/ package; create assets/<team>/defs/__init__.py (team new does)"])
    for part, value in (("domain", request.domain), ("table", request.table)):
        if not re.match(r"^[a-z][a-z0-9_]*$", value):
            raise ConfigError([f"{value!r}: expected a {part} of lower-case letters, digits and underscores"])
    folder = defs_dir / request.domain / request.table
    if folder.exists():
        raise ConfigError([f"{folder}: already exists"])
    texts = asset_files(
        request.team, request.domain, request.table, len(folder.relative_to(root).parts),
        request.sql, request.inputs, request.description,
    )
    files = {folder / name: text for name, text in texts.items()}
    folder.mkdir(parents=True)
    for path, text in files.items():
        path.write_text(text)
    return list(files)


def _add_dg_project(root: Path, package: str) -> str | None:
    """dg.toml's workspace with ``assets/<package>`` added to its projects; None without a dg.toml."""
    path = root / DG_WORKSPACE_FILE
    if not path.is_file():
        return None
    text = path.read_text()
    entry = f'    {{ path = "assets/{package}" }},\n'
    return re.sub(r"(projects = \[\n(?:.*\n)*?)(\])", lambda m: m.group(1) + entry + m.group(2), text, count=1)


PYPROJECT_FILE = "pyproject.toml"
# The team layer of pyproject.toml's import-linter contract: `layers = ["<team> : catalog : <team> ...", "lib"]`
TEAM_LAYER = re.compile(r'(?m)^(layers = \[")([^"]*)(", "lib"\])$')


def _add_team_layer(root: Path, package: str) -> str | None:
    """pyproject.toml with ``package`` added to the team layer of its import-linter contracts (kept in
    sorted order); None without a pyproject.toml or that contract."""
    path = root / PYPROJECT_FILE
    text = path.read_text() if path.is_file() else ""
    if not TEAM_LAYER.search(text):
        return None

    def add(match: re.Match) -> str:
        teams = sorted({*(name.strip() for name in match.group(2).split(":")), package})
        return match.group(1) + " : ".join(teams) + match.group(3)

    return TEAM_LAYER.sub(add, text, count=1)


@dataclass(frozen=True)
class TeamRequest:
    """The settings of a new team (see ``TeamSettings`` in config.py); ``budget_usd`` is USD per month."""

    name: str
    owners: list[str] = field(default_factory=list)
    substrate: str = "emr-serverless"
    job_size: str = "small"
    budget_usd: float = 100
    upstream_teams: list[str] = field(default_factory=list)
    description: str = ""

    @property
    def package(self) -> str:
        return self.name.replace("-", "_")


@dataclass(frozen=True)
class Scaffold:
    """What :func:`new_team` wrote, paths absolute."""

    config_file: Path
    workspace_file: Path
    package_dir: Path
    files: list[Path]


def _yaml() -> YAML:
    yaml = YAML()  # round-trip: keeps comments, order and quoting
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096
    # keep an explicit `null` (round-trip mode would write nothing after the colon)
    yaml.representer.add_representer(
        type(None), lambda representer, _: representer.represent_scalar("tag:yaml.org,2002:null", "null")
    )
    return yaml


def _dump(yaml: YAML, data) -> str:
    out = StringIO()
    yaml.dump(data, out)
    return out.getvalue()


def _team_entry(request: TeamRequest) -> CommentedMap:
    entry = CommentedMap()
    entry["description"] = request.description or f"Team {request.name}."
    owners = CommentedSeq(request.owners or [f"{request.name}@example.com"])
    owners.fa.set_flow_style()
    entry["owners"] = owners
    entry["substrate"] = request.substrate
    entry["job_size"] = request.job_size
    entry["budget_usd"] = request.budget_usd
    if request.upstream_teams:
        upstream = CommentedSeq(request.upstream_teams)
        upstream.fa.set_flow_style()
        entry["upstream_teams"] = upstream
    return entry


def _workspace_entry(request: TeamRequest) -> CommentedMap:
    module = CommentedMap()
    module["module_name"] = f"assets.{request.package}"
    module["location_name"] = request.name
    entry = CommentedMap()
    entry["python_module"] = module
    return entry


def _trailing_comments(entry: CommentedMap) -> list | None:
    """Where ruamel keeps the comment lines that follow ``entry``: the comment list of its innermost last key
    (the token at index 2). None when the entry does not end in a mapping's scalar."""
    node = entry
    while isinstance(node, CommentedMap) and node:
        key = list(node)[-1]
        if not isinstance(node[key], CommentedMap):
            return node.ca.items.setdefault(key, [None, None, None, None])
        node = node[key]
    return None


def _insert_location(load_from: CommentedSeq, index: int, entry: CommentedMap) -> None:
    """Insert ``entry`` into workspace.yaml's ``load_from`` at ``index``, comments kept where they were.

    ruamel attaches the comment and blank lines between two entries to the end of the first one; they
    describe the entry below them, so when ``entry`` goes in between they move to the end of ``entry``.
    Only an end-of-line comment stays on the entry before."""
    load_from.insert(index, entry)
    if index == 0:
        return
    comments, new_comments = _trailing_comments(load_from[index - 1]), _trailing_comments(entry)
    if comments is None or new_comments is None or comments[2] is None:
        return
    token = comments[2]
    end_of_line, newline, following = token.value.partition("\n")
    if not following:
        return
    moved = copy.copy(token)
    moved.value = newline + following
    new_comments[2] = moved
    if end_of_line.strip():
        token.value = end_of_line + newline
    else:
        comments[2] = None


def check_name(name: str, root: Path | str = REPO_ROOT) -> None:
    """Raise ``ConfigError`` when ``name`` is not a valid team name or is already declared or scaffolded."""
    root = Path(root)
    if not re.match(TEAM_NAME_PATTERN, name):
        raise ConfigError(
            [
                f"{name!r}: expected a team name of 2-31 lower-case letters, digits and single hyphens, "
                "starting with a letter (it becomes part of S3 prefixes and IAM names)"
            ]
        )
    teams = _yaml().load((root / CONFIG_FILE).read_text()).get("teams") or {}
    if name in teams:
        raise ConfigError([f"{CONFIG_FILE}: teams.{name}: team is already declared"])
    package = name.replace("-", "_")
    package_dir = root / "assets" / package
    if package_dir.exists() or package_dir.with_suffix(".py").exists():
        raise ConfigError([f"{package_dir}: already exists"])
    # assets/ is on job scripts' PYTHONPATH: a package named like a module would shadow it there.
    if package in sys.stdlib_module_names or importlib.util.find_spec(package) is not None:
        raise ConfigError([f"{name!r}: package {package!r} would shadow the Python module of that name; pick another"])


def new_team(request: TeamRequest, root: Path | str = REPO_ROOT) -> Scaffold:
    """Add team ``request.name`` to ``<root>/config.yml`` and ``<root>/workspace.yaml`` (after the last
    team's location, so ``platform`` stays last) and scaffold
    ``<root>/assets/<name_with_underscores>/`` in the YAML form: ``__init__.py`` (the location),
    ``defs/`` with one example SQL asset ``[name, examples, squares]``, and ``dg.toml`` (a dg project,
    added to the repository's dg workspace); the package joins the team layer of ``pyproject.toml``'s
    import-linter contracts.

    Raises ``ConfigError`` for an invalid or taken name, or when any stage fails to validate with
    the new team (e.g. an unknown job size or upstream team); then nothing is left changed.
    """
    root = Path(root)
    check_name(request.name, root)
    yaml = _yaml()
    config_path, workspace_path = root / CONFIG_FILE, root / WORKSPACE_FILE
    config_before, workspace_before = config_path.read_text(), workspace_path.read_text()

    config_doc = yaml.load(config_before)
    teams = set(config_doc["teams"])
    config_doc["teams"][request.name] = _team_entry(request)
    workspace_doc = yaml.load(workspace_before)
    locations = [e["python_module"]["location_name"] for e in workspace_doc["load_from"]]
    if request.name in locations:
        raise ConfigError([f"{WORKSPACE_FILE}: location {request.name!r} is already listed"])
    # after the last team's location: the platform's own locations (`platform`) stay after every team's
    after_teams = max((i + 1 for i, location in enumerate(locations) if location in teams), default=0)
    _insert_location(workspace_doc["load_from"], after_teams, _workspace_entry(request))

    package_dir = root / "assets" / request.package
    init_file = package_dir / "__init__.py"
    defs_init, dg_project = package_dir / "defs" / "__init__.py", package_dir / "dg.toml"
    dg_path, pyproject_path = root / DG_WORKSPACE_FILE, root / PYPROJECT_FILE
    dg_before = dg_path.read_text() if dg_path.is_file() else None
    pyproject_after = _add_team_layer(root, request.package)
    pyproject_before = pyproject_path.read_text() if pyproject_after is not None else None
    written: list[Path] = []
    try:
        config_path.write_text(_dump(yaml, config_doc))
        for stage in available_stages(root):
            load_config(stage, root=root)  # raises ConfigError naming the file and key
        defs_init.parent.mkdir(parents=True)
        init_file.write_text(INIT_TEMPLATE.format(name=request.name))
        defs_init.write_text(DEFS_INIT_TEMPLATE.format(name=request.name))
        dg_project.write_text(DG_PROJECT_TEMPLATE.format(name=request.name, package=request.package))
        written = [init_file, defs_init, dg_project]
        written += new_asset(AssetRequest(request.name, EXAMPLE_DOMAIN, EXAMPLE_TABLE, sql=True,
                                          description="Example: the numbers 1 to 100 with their squares. "
                                          "Replace with the team's first real asset."), root)
        workspace_path.write_text(_dump(yaml, workspace_doc))
        if dg_before is not None:
            dg_path.write_text(_add_dg_project(root, request.package))
        if pyproject_after is not None:
            pyproject_path.write_text(pyproject_after)
    except BaseException:
        config_path.write_text(config_before)
        workspace_path.write_text(workspace_before)
        if dg_before is not None:
            dg_path.write_text(dg_before)
        if pyproject_after is not None:
            pyproject_path.write_text(pyproject_before)
        if package_dir.is_dir():
            shutil.rmtree(package_dir)
        raise
    return Scaffold(config_path, workspace_path, package_dir, written)
