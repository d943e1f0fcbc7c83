"""The platform's configuration: ``config.yml`` deep-merged with ``stages/<stage>.yml``.

This is the one loader: the Dagster code locations, the launchers, the command line
and the Pulumi program all call :func:`load_config`. Every error it raises is a
:class:`ConfigError` whose lines read ``<file>: <key.path>: expected <what>, got <value>``
(``<file>:<line>`` for an EMR release whose Spark is not the installed pyspark's).
"""

from __future__ import annotations

import os
import re
import reprlib
from importlib.metadata import PackageNotFoundError
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, create_model, field_validator

from emr_platform import releases, substrates
from emr_platform.settings import (
    CONFIG_FILE,
    STAGES_DIR,
    ConfigError,
    CostSettings,
    DeploymentSettings,
    JobSize,
    LakeSettings,
    PlatformSettings,
    SettingsModel,
)

from emr_platform.automation import Automation, automation_condition, FreshnessSettings, RetrySettings
from emr_platform.partitioning import BackfillSettings, PartitioningSettings, check_timezone
from emr_platform.pricing import INSTANCE_PRICES
from emr_platform.substrates import emr_serverless
from emr_platform.serverless_sizes import check_worker
from emr_platform.yaml_safety import YamlRefused, load_yaml_lines

STAGE_ENV_VAR = "EMR_PLATFORM_STAGE"
DEFAULT_STAGE = "local"
REPO_ROOT = Path(__file__).resolve().parents[1]
# A stage names a file under stages/, a Pulumi stack and part of AWS resource names.
STAGE_NAME_PATTERN = r"^[a-z][a-z0-9-]{0,19}$"

SubstrateName = Literal[substrates.NAMES]  # type: ignore[valid-type]  # the registry's names, for the schema

# A team name becomes part of S3 prefixes, IAM role names and Dagster owners:
# lower-case letters, digits and single hyphens, starting with a letter.
TEAM_NAME_PATTERN = r"^[a-z](?:[a-z0-9]|-(?=[a-z0-9])){1,30}$"


class TeamSettings(SettingsModel):
    """One team: its own code location, S3 prefix, IAM role, EMR Serverless application and budget."""

    owners: list[str] = Field(min_length=1, description="E-mail addresses; become Dagster asset owners.")
    substrate: SubstrateName = Field(description="Default substrate of the team's Spark assets.")
    job_size: str = Field(description="Default job size, a key of job_sizes.")
    budget_usd: float = Field(gt=0, description="Monthly budget in USD.")
    upstream_teams: list[str] = Field(default_factory=list, description="Teams whose lake prefixes this team may read.")
    description: str = ""
    interactive: bool = Field(
        False,
        description="Spark Connect sessions, EMR Studio and a Livy endpoint on the team's EMR Serverless application "
        "(needs emr_serverless.release_label emr-7.13.0 or later).",
    )
    warm_drivers: int | None = Field(
        None, ge=0, le=100, description="Pre-initialized drivers of the team's application; null: emr_serverless.warm_drivers."
    )
    warm_executors: int | None = Field(
        None, ge=0, le=1000, description="Pre-initialized executors of the team's application; null: emr_serverless.warm_executors."
    )
    # Defaults of the team's Spark assets; a spec's own value wins (emr_platform/spec.py).
    timezone: str = Field("UTC", description="IANA time zone of the team's cron automation conditions.")
    partitions: str | None = Field(None, description="Default partitioning, a key of partitionings.")
    automation: Automation | None = Field(None, description="'eager', 'on_missing', 'none' or {on_cron: '<cron>'}.")
    freshness: FreshnessSettings | None = None
    retry: RetrySettings | None = None
    backfill: BackfillSettings = BackfillSettings()

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        return check_timezone(value)


class AlertSettings(SettingsModel):
    """Where each team location's run failure sensor sends its alerts: ``log`` (the Dagster log and
    ``$DAGSTER_HOME/alerts/<team>.jsonl``) or ``sns`` (the team's alert topic that infra builds).
    ``ui_url`` is the Dagster UI the alert links the failed run in."""

    channel: Literal["log", "sns"] = "log"
    ui_url: str = Field("http://127.0.0.1:3000", pattern=r"^https?://[^\s/]+(/\S*)?$")


class ExecutionSettings(SettingsModel):
    """Which substrate runs an asset: per-asset override, then force_substrate, then the asset's spec."""

    force_substrate: SubstrateName | None = None
    asset_substrates: dict[str, SubstrateName] = Field(
        default_factory=dict, description="Asset key path ('team/domain/table') to substrate."
    )
    timeout_seconds: int = Field(3600, ge=60, description="Default wall-clock limit of one Spark job, seconds.")


class _PlatformConfigBase(SettingsModel):
    """The merged configuration of one stage; each substrate adds its own section (see below)."""

    stage: str
    platform: PlatformSettings
    lake: LakeSettings
    sources: dict[str, str] = Field(
        default_factory=dict,
        description="Named external datasets: a URI prefix, or pkg://<package>/<folder> for package data.",
    )
    job_sizes: dict[str, JobSize]
    partitionings: dict[str, PartitioningSettings] = Field(
        default_factory=dict, description="Named partitionings the teams' specs share (emr_platform/partitioning.py)."
    )
    teams: dict[str, TeamSettings]
    execution: ExecutionSettings = ExecutionSettings()
    deployment: DeploymentSettings = DeploymentSettings()
    cost: CostSettings = CostSettings()
    alerts: AlertSettings = AlertSettings()

    def team(self, name: str) -> TeamSettings:
        """The settings of team ``name``; raises ``ConfigError`` naming the declared teams."""
        try:
            return self.teams[name]
        except KeyError:
            raise ConfigError(
                [f"{CONFIG_FILE}: teams.{name}: team is not declared (declared: {', '.join(sorted(self.teams))})"]
            ) from None

    def substrate_settings(self, substrate: str) -> SettingsModel | None:
        """The section of ``substrate``'s settings (e.g. ``emr_serverless``); None when absent."""
        return getattr(self, substrates.get(substrate).config_key)


# One section per registered substrate: ``local_spark``, ``emr_serverless``, ``emr_classic``, ...
PlatformConfig = create_model(
    "PlatformConfig",
    __base__=_PlatformConfigBase,
    __module__=__name__,
    **{
        s.config_key: (s.settings if s.default_settings is not None else s.settings | None, s.default_settings)
        for s in substrates.REGISTRY.values()
    },
)


def current_stage() -> str:
    """The stage this process runs in: ``$EMR_PLATFORM_STAGE``, default ``local``. The only env read."""
    return os.environ.get(STAGE_ENV_VAR, DEFAULT_STAGE)


def available_stages(root: Path = REPO_ROOT) -> list[str]:
    """Names of the stage files ``<root>/stages/<stage>.yml`` whose names are valid stage names."""
    return sorted(p.stem for p in (Path(root) / STAGES_DIR).glob("*.yml") if re.fullmatch(STAGE_NAME_PATTERN, p.stem))


def find_root(start: Path | str | None = None) -> Path:
    """The nearest directory at or above ``start`` (default: the working directory) holding
    ``config.yml`` and ``stages/``; raises :class:`ConfigError` if there is none."""
    start = Path(start if start is not None else Path.cwd()).resolve()
    for folder in (start, *start.parents):
        if (folder / CONFIG_FILE).is_file() and (folder / STAGES_DIR).is_dir():
            return folder
    raise ConfigError(
        [f"{CONFIG_FILE}: expected {CONFIG_FILE} and {STAGES_DIR}/ in {start} or a parent directory (or give --root)"]
    )


def _stage_file(root: Path, stage: str) -> Path:
    """``<root>/stages/<stage>.yml``, refusing names outside the pattern and files resolving outside ``stages/``."""
    label = f"{STAGES_DIR}/<stage>.yml"
    if not isinstance(stage, str) or not re.fullmatch(STAGE_NAME_PATTERN, stage):
        raise ConfigError([f"{label}: stage: expected a name matching {STAGE_NAME_PATTERN}, got {_short(stage)}"])
    path = root / STAGES_DIR / f"{stage}.yml"
    if not path.is_file():
        raise ConfigError(
            [f"{STAGES_DIR}/{stage}.yml: no such stage (expected one of: {', '.join(available_stages(root)) or 'none'})"]
        )
    if path.resolve().parent != (root / STAGES_DIR).resolve():
        raise ConfigError(
            [f"{STAGES_DIR}/{stage}.yml: expected a file inside {STAGES_DIR}/, got a link to {path.resolve()}"]
        )
    return path


def deep_merge(base: dict, override: dict) -> dict:
    """Mappings merge key by key, recursively; any other value in ``override`` replaces ``base``'s."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _read_yaml(path: Path, label: str) -> tuple[dict, dict[tuple, int]]:
    """The mapping of the file and the line of each key path in it."""
    if not path.is_file():
        raise ConfigError([f"{label}: file not found ({path})"])
    try:
        data, lines = load_yaml_lines(path.read_bytes(), label)
    except YamlRefused as exc:
        problems = exc.problems
    else:
        problems = []
    if problems:  # raised outside the except block: no __context__ holding the document
        raise ConfigError(problems)
    data = {} if data is None else data
    if not isinstance(data, dict):
        raise ConfigError([f"{label}: expected a mapping at the top level, got {type(data).__name__}"])
    return data, lines


def _set_by(override: dict, loc: tuple) -> bool:
    """Whether the stage file's ``override`` set the value at ``loc`` (the key path of an error).

    ``deep_merge`` takes anything but a mapping from the stage file whole: once the path
    reaches a list or a scalar of the stage file, every index below it came from there too.
    """
    data: Any = override
    for part in loc:
        if not isinstance(data, dict):
            return True
        if part not in data:
            return False
        data = data[part]
    return True


# Inputs quoted in errors are cut short: an error line stays one readable line, whatever the document.
_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxdict, _REPR.maxlist, _REPR.maxstring, _REPR.maxother = 2, 4, 6, 60, 60


def _short(value: Any) -> str:
    return _REPR.repr(value)


_EXPECTED = {
    "float_parsing": "a number",
    "float_type": "a number",
    "int_parsing": "an integer",
    "int_type": "an integer",
    "int_from_float": "an integer",
    "bool_parsing": "true or false",
    "bool_type": "true or false",
    "string_type": "a string",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "list_type": "a list",
}


def _describe(error: dict) -> str:
    kind = error["type"]
    got = _short(error.get("input"))
    if kind == "missing":
        return "required key is missing"
    if kind == "extra_forbidden":
        return "unknown key"
    if kind in _EXPECTED:
        return f"expected {_EXPECTED[kind]}, got {got}"
    if kind == "literal_error":
        return f"expected one of {error['ctx']['expected']}, got {got}"
    if kind == "string_pattern_mismatch":
        return f"expected a string matching {error['ctx']['pattern']}, got {got}"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        bound = next(iter(error["ctx"].values()))
        bound = f"{bound:g}" if isinstance(bound, float) else bound
        word = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<", "less_than_equal": "<="}[kind]
        return f"expected a number {word} {bound}, got {got}"
    if kind == "value_error":  # our validators' own words: "expected ..., got ..."
        return str(error["ctx"]["error"])
    if kind == "too_short":
        return f"expected at least {error['ctx']['min_length']} item(s), got {got}"
    return f"{error['msg'].lower()}, got {got}"


def used_substrates(config: PlatformConfig) -> set[str]:
    """The substrates some asset of the stage may run on: the forced one, else every team's and override's."""
    if config.execution.force_substrate:
        return {config.execution.force_substrate}
    return {team.substrate for team in config.teams.values()} | set(config.execution.asset_substrates.values())


RESERVED_TEAM_NAMES = {"platform"}  # the cost code location, its lake prefix and run role


def _check_references(config: PlatformConfig, origin) -> list[str]:
    problems = []
    for name, team in config.teams.items():
        if name in RESERVED_TEAM_NAMES:
            problems.append(
                f"{origin(('teams', name))}: teams.{name}: expected another name ({name!r} is the platform's "
                "own code location and lake prefix)"
            )
        if not re.fullmatch(TEAM_NAME_PATTERN, name):
            problems.append(
                f"{origin(('teams', name))}: teams.{name}: expected a team name of lower-case letters, "
                "digits and single hyphens (it becomes part of S3 prefixes and IAM names)"
            )
        if team.job_size not in config.job_sizes:
            problems.append(
                f"{origin(('teams', name, 'job_size'))}: teams.{name}.job_size: expected one of "
                f"{sorted(config.job_sizes)}, got {team.job_size!r}"
            )
        if team.partitions is not None and team.partitions not in config.partitionings:
            problems.append(
                f"{origin(('teams', name, 'partitions'))}: teams.{name}.partitions: expected one of "
                f"partitionings {sorted(config.partitionings)}, got {team.partitions!r}"
            )
        problems += _check_automation(f"{origin(('teams', name, 'automation'))}: teams.{name}.automation", team)
        for i, upstream in enumerate(team.upstream_teams):
            if upstream not in config.teams or upstream == name:
                problems.append(
                    f"{origin(('teams', name, 'upstream_teams'))}: teams.{name}.upstream_teams.{i}: "
                    f"expected another declared team, got {upstream!r}"
                )
    for name in sorted(used_substrates(config)):
        substrate = substrates.get(name)
        if config.substrate_settings(name) is None:
            key = substrate.config_key
            problems.append(f"{origin((key,))}: {key}: expected a section (some assets run on {name})")
        for purpose in ("artifacts_root", "logs_root") if substrate.needs_s3_roots else ():
            if not str(getattr(config.lake, purpose) or "").startswith("s3://"):
                problems.append(
                    f"{origin(('lake', purpose))}: lake.{purpose}: expected an s3:// URI (assets run on {name}), "
                    f"got {getattr(config.lake, purpose)!r}"
                )
    for key in config.execution.asset_substrates:
        if len(key.split("/")) != 3 or key.split("/")[0] not in config.teams:
            problems.append(
                f"{origin(('execution', 'asset_substrates', key))}: execution.asset_substrates.{key}: "
                "expected an asset key 'team/domain/table' of a declared team"
            )
    return (
        problems
        + _check_worker_sizes(config, origin)
        + _check_instance_types(config, origin)
        + _check_releases(config, origin)
        + _check_sessions(config, origin)
    )


def _check_releases(config: PlatformConfig, origin) -> list[str]:
    """Every EMR release the stage names (each substrate's ``release_labels``) must run the Spark
    major.minor of the installed pyspark, which runs every job locally and in the tests."""
    try:
        installed, minor = releases.installed_spark()
    except PackageNotFoundError:
        return ["pyspark: expected it installed (pyproject.toml pins it; each EMR release's Spark is checked against it)"]
    matching = [label for label, row in releases.RELEASES.items() if releases.spark_minor(row) == minor]
    problems = []
    for substrate in substrates.REGISTRY.values():
        settings = config.substrate_settings(substrate.name)
        for path, label in substrate.release_labels(settings) if settings is not None else ():
            found = releases.release(label)
            if releases.spark_minor(found) != minor:
                loc = (substrate.config_key, *path)
                problems.append(
                    f"{origin(loc, line=True)}: {'.'.join(map(str, loc))}: expected a release running Spark {minor} "
                    f"like the installed pyspark {installed} ({', '.join(matching) or 'none in emr_platform/releases.py'}), "
                    f"got {label!r}, which runs Spark {found.spark}"
                )
    return problems


def _check_sessions(config: PlatformConfig, origin) -> list[str]:
    """Interactive teams get Spark Connect sessions, which need an application release of emr-7.13.0 or later."""
    interactive = sorted(name for name, team in config.teams.items() if team.interactive)
    label = config.emr_serverless.release_label
    if not interactive or emr_serverless.supports_sessions(label):
        return []
    minimum = "emr-" + ".".join(map(str, emr_serverless.SESSIONS_MIN_RELEASE))
    loc = ("emr_serverless", "release_label")
    return [
        f"{origin(loc)}: emr_serverless.release_label: expected {minimum} or later for Spark Connect sessions "
        f"(interactive teams: {', '.join(interactive)}), got {label!r}"
    ]


def _check_automation(where: str, team: TeamSettings) -> list[str]:
    """A team's default automation and freshness must become Dagster objects (cron strings parse)."""
    try:
        automation_condition(team.automation, team.timezone)
        if team.freshness:
            team.freshness.policy()
    except ValueError as exc:
        return [f"{where}: {exc}"]
    return []


def _check_worker_sizes(config: PlatformConfig, origin) -> list[str]:
    """Every job size's driver and executor must be an EMR Serverless worker size (any job may run there)."""
    problems = []
    for name, size in config.job_sizes.items():
        for role in ("driver", "executor"):
            problem = check_worker(getattr(size, f"{role}_cores"), getattr(size, f"{role}_memory_gb"))
            if problem:
                field, message = problem
                loc = ("job_sizes", name, f"{role}_{field}")
                problems.append(f"{origin(loc)}: {'.'.join(loc)}: {message}")
    return problems


def _check_instance_types(config: PlatformConfig, origin) -> list[str]:
    """Every EMR Classic instance type needs a price in ``emr_platform/pricing.py`` (cost estimates, budgets)."""
    problems = []
    profiles = config.emr_classic.profiles if config.emr_classic else {}
    for name, profile in profiles.items():
        used = [(("instance_groups", i, "instance_type"), g.instance_type) for i, g in enumerate(profile.instance_groups)]
        used += [
            (("instance_fleets", i, "instance_types", j), instance_type)
            for i, fleet in enumerate(profile.instance_fleets)
            for j, instance_type in enumerate(fleet.instance_types)
        ]
        for path, instance_type in used:
            if instance_type not in INSTANCE_PRICES:
                loc = ("emr_classic", "profiles", name, *path)
                problems.append(
                    f"{origin(loc)}: {'.'.join(map(str, loc))}: expected an instance type priced in "
                    f"emr_platform/pricing.py ({', '.join(sorted(INSTANCE_PRICES))}), got {instance_type!r}"
                )
    return problems


def load_config(stage: str | None = None, root: Path | str = REPO_ROOT) -> PlatformConfig:
    """Load ``<root>/config.yml`` deep-merged with ``<root>/stages/<stage>.yml``.

    ``stage`` defaults to :func:`current_stage`. Relative local lake paths are made
    absolute against ``root``. Raises :class:`ConfigError` listing every problem found,
    each naming the file that set the offending key, the key path and what was expected.
    """
    root = Path(root)
    stage = stage or current_stage()
    stage_label = f"{STAGES_DIR}/{stage}.yml"
    stage_file = _stage_file(root, stage)
    base, base_lines = _read_yaml(root / CONFIG_FILE, CONFIG_FILE)
    override, override_lines = _read_yaml(stage_file, stage_label)
    for label, data in ((CONFIG_FILE, base), (stage_label, override)):
        if "stage" in data:
            raise ConfigError([f"{label}: stage: unknown key (the stage is the file name under {STAGES_DIR}/)"])
    merged = deep_merge(base, override)

    def origin(loc: tuple, line: bool = False) -> str:
        """The file that set the value at ``loc``; with ``line``, ``<file>:<line>`` where the file has the key."""
        label, lines = (stage_label, override_lines) if _set_by(override, loc) else (CONFIG_FILE, base_lines)
        return f"{label}:{lines[loc]}" if line and loc in lines else label

    problems = []
    try:
        config = PlatformConfig.model_validate({"stage": stage, **merged})
    except ValidationError as exc:
        for error in exc.errors():
            loc = tuple(error["loc"])
            problems.append(f"{origin(loc)}: {'.'.join(map(str, loc))}: {_describe(error)}")
    # Raised outside the except block: a ValidationError as __context__ would keep the whole document.
    if problems:
        raise ConfigError(problems)
    problems = _check_references(config, origin)
    if problems:
        raise ConfigError(problems)
    # Local paths in config are relative to the repository root, whatever the working directory.
    local_spark = config.local_spark.model_copy(update={"state_dir": str((root / config.local_spark.state_dir).resolve())})
    config = config.model_copy(update={"local_spark": local_spark})
    if not config.lake.is_s3:
        lake = config.lake.model_copy(update={"root": str((root / config.lake.root).resolve())})
        config = config.model_copy(update={"lake": lake})
    return config


def json_schema() -> dict:
    """The JSON Schema of ``config.yml`` (and of each stage file, whose keys are the same but all optional)."""
    schema = PlatformConfig.model_json_schema()
    schema["properties"].pop("stage", None)
    schema["required"] = [key for key in schema.get("required", []) if key != "stage"]
    schema["title"] = "EMR platform config.yml"
    return schema
