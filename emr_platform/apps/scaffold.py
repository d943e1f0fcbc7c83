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
import sys
from dataclasses import dataclass, field
from io import StringIO
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from emr_platform.config import CONFIG_FILE, REPO_ROOT, TEAM_NAME_PATTERN, ConfigError, available_stages, load_config

WORKSPACE_FILE = "workspace.yaml"
EXAMPLE_DOMAIN = "examples"
# Not a standard-library module name: the script's folder comes first on sys.path when it runs.
EXAMPLE_TABLE = "squares"

INIT_TEMPLATE = '''"""Code location of team {name}: one SparkAssetSpec per asset in SPECS, job scripts in jobs/."""

from pathlib import Path

from emr_platform.locations.factory import team_definitions
from emr_platform.spec import SparkAssetSpec, non_empty, not_null, unique

SPECS = [
    SparkAssetSpec(
        domain="{domain}",
        table="{table}",
        script="jobs/{table}.py",
        description="Example: the numbers 1 to 100 with their squares. Replace with the team's first real asset.",
        checks=(non_empty(), not_null("n", "square"), unique("n")),
    ),
]

defs = team_definitions("{name}", SPECS, Path(__file__).parent)
'''

JOB_TEMPLATE = '''"""Example job: the numbers 1 to 100 and their squares (a spec's inputs arrive as inputs[name])."""

from pyspark.sql import functions as F

import jobkit


def transform(spark, inputs, params):
    return spark.range(1, 101).select(F.col("id").alias("n"), (F.col("id") * F.col("id")).alias("square"))


if __name__ == "__main__":
    jobkit.run(transform)
'''


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
    ``<root>/assets/<name_with_underscores>/`` with one example Spark asset ``[name, examples, squares]``.

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
    init_file, job_file = package_dir / "__init__.py", package_dir / "jobs" / f"{EXAMPLE_TABLE}.py"
    try:
        config_path.write_text(_dump(yaml, config_doc))
        for stage in available_stages(root):
            load_config(stage, root=root)  # raises ConfigError naming the file and key
        job_file.parent.mkdir(parents=True)
        init_file.write_text(INIT_TEMPLATE.format(name=request.name, domain=EXAMPLE_DOMAIN, table=EXAMPLE_TABLE))
        job_file.write_text(JOB_TEMPLATE)
        workspace_path.write_text(_dump(yaml, workspace_doc))
    except BaseException:
        config_path.write_text(config_before)
        workspace_path.write_text(workspace_before)
        for path in (job_file, init_file, job_file.parent, package_dir):
            if path.is_file():
                path.unlink()
            elif path.is_dir() and not any(path.iterdir()):
                path.rmdir()
        raise
    return Scaffold(config_path, workspace_path, package_dir, [init_file, job_file])
