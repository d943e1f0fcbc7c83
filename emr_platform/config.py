"""The platform's configuration: ``config.yml`` deep-merged with ``stages/<stage>.yml``.

This is the one loader: the Dagster code locations, the launchers, the command line
and the Pulumi program all call :func:`load_config`. Every error it raises is a
:class:`ConfigError` whose lines read ``<file>: <key.path>: expected <what>, got <value>``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError, create_model

from emr_platform import substrates
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

STAGE_ENV_VAR = "EMR_PLATFORM_STAGE"
DEFAULT_STAGE = "local"
REPO_ROOT = Path(__file__).resolve().parents[1]

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
    interactive: bool = Field(False, description="EMR Studio and a Livy endpoint on the team's EMR Serverless application.")


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
    teams: dict[str, TeamSettings]
    execution: ExecutionSettings = ExecutionSettings()
    deployment: DeploymentSettings = DeploymentSettings()
    cost: CostSettings = CostSettings()

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
    return sorted(p.stem for p in (root / STAGES_DIR).glob("*.yml"))


def deep_merge(base: dict, override: dict) -> dict:
    """Mappings merge key by key, recursively; any other value in ``override`` replaces ``base``'s."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _read_yaml(path: Path, label: str) -> dict:
    if not path.is_file():
        raise ConfigError([f"{label}: file not found ({path})"])
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise ConfigError([f"{label}: not valid YAML{where}: {getattr(exc, 'problem', exc)}"]) from None
    if not isinstance(data, dict):
        raise ConfigError([f"{label}: expected a mapping at the top level, got {type(data).__name__}"])
    return data


def _has_path(data: Any, loc: tuple) -> bool:
    for part in loc:
        if not isinstance(data, dict) or part not in data:
            return False
        data = data[part]
    return True


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
    got = error.get("input")
    if kind == "missing":
        return "required key is missing"
    if kind == "extra_forbidden":
        return "unknown key"
    if kind in _EXPECTED:
        return f"expected {_EXPECTED[kind]}, got {got!r}"
    if kind == "literal_error":
        return f"expected one of {error['ctx']['expected']}, got {got!r}"
    if kind == "string_pattern_mismatch":
        return f"expected a string matching {error['ctx']['pattern']}, got {got!r}"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        bound = next(iter(error["ctx"].values()))
        bound = f"{bound:g}" if isinstance(bound, float) else bound
        word = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<", "less_than_equal": "<="}[kind]
        return f"expected a number {word} {bound}, got {got!r}"
    if kind == "too_short":
        return f"expected at least {error['ctx']['min_length']} item(s), got {got!r}"
    return f"{error['msg'].lower()}, got {got!r}"


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
        if not re.match(TEAM_NAME_PATTERN, name):
            problems.append(
                f"{origin(('teams', name))}: teams.{name}: expected a team name of lower-case letters, "
                "digits and single hyphens (it becomes part of S3 prefixes and IAM names)"
            )
        if team.job_size not in config.job_sizes:
            problems.append(
                f"{origin(('teams', name, 'job_size'))}: teams.{name}.job_size: expected one of "
                f"{sorted(config.job_sizes)}, got {team.job_size!r}"
            )
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
    if not (root / stage_label).is_file():
        raise ConfigError(
            [f"{stage_label}: no such stage (expected one of: {', '.join(available_stages(root)) or 'none'})"]
        )
    base = _read_yaml(root / CONFIG_FILE, CONFIG_FILE)
    override = _read_yaml(root / stage_label, stage_label)
    for label, data in ((CONFIG_FILE, base), (stage_label, override)):
        if "stage" in data:
            raise ConfigError([f"{label}: stage: unknown key (the stage is the file name under {STAGES_DIR}/)"])
    merged = deep_merge(base, override)

    def origin(loc: tuple) -> str:
        return stage_label if _has_path(override, loc) else CONFIG_FILE

    try:
        config = PlatformConfig.model_validate({"stage": stage, **merged})
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            loc = tuple(error["loc"])
            problems.append(f"{origin(loc)}: {'.'.join(map(str, loc))}: {_describe(error)}")
        raise ConfigError(problems) from None
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
