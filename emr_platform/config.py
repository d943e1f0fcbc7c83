"""The platform's configuration: ``config.yml`` deep-merged with ``stages/<stage>.yml``.

This is the one loader: the Dagster code locations, the launchers, the command line
and the Pulumi program all call :func:`load_config`. Every error it raises is a
:class:`ConfigError` whose lines read ``<file>: <key.path>: expected <what>, got <value>``.
"""

from __future__ import annotations

import os
import re
import reprlib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from emr_platform.pricing import INSTANCE_PRICES
from emr_platform.serverless_sizes import check_worker
from emr_platform.yaml_safety import YamlRefused, load_yaml

STAGE_ENV_VAR = "EMR_PLATFORM_STAGE"
DEFAULT_STAGE = "local"
REPO_ROOT = Path(__file__).resolve().parents[1]
CONFIG_FILE = "config.yml"
STAGES_DIR = "stages"
# A stage names a file under stages/, a Pulumi stack and part of AWS resource names.
STAGE_NAME_PATTERN = r"^[a-z][a-z0-9-]{0,19}$"

Substrate = Literal["local", "emr-serverless", "emr-classic"]
SUBSTRATES: tuple[str, ...] = ("local", "emr-serverless", "emr-classic")

# A team name becomes part of S3 prefixes, IAM role names and Dagster owners:
# lower-case letters, digits and single hyphens, starting with a letter.
TEAM_NAME_PATTERN = r"^[a-z](?:[a-z0-9]|-(?=[a-z0-9])){1,30}$"


class ConfigError(ValueError):
    """Raised for any invalid configuration; ``problems`` holds one line per error."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("invalid configuration:\n  " + "\n  ".join(problems))


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PlatformSettings(_Model):
    """Who the platform is and where it lives."""

    name: str = Field(pattern=r"^[a-z][a-z0-9-]{1,40}$", description="Prefix of every AWS resource name.")
    region: str = Field(pattern=r"^[a-z]{2}(-[a-z]+)+-\d$", description="AWS region, e.g. us-east-1.")


class LakeSettings(_Model):
    """Where asset data, job artifacts and logs are written.

    ``root`` is an ``s3://bucket[/prefix]`` URI or a local directory (relative paths
    are resolved against the repository root). Each asset ``[team, domain, table]``
    is stored under ``<root>/<team>/<domain>/<table>/``.
    """

    root: str
    artifacts_root: str | None = Field(None, description="Job scripts and their dependencies; EMR stages only.")
    logs_root: str | None = Field(None, description="EMR driver and step logs; EMR stages only.")

    @property
    def is_s3(self) -> bool:
        return self.root.startswith("s3://")


class JobSize(_Model):
    """Resources one Spark job asks for. Memory in GiB, cores in vCPU."""

    driver_cores: int = Field(ge=1, le=16)
    driver_memory_gb: int = Field(ge=1, le=120)
    executor_cores: int = Field(ge=1, le=16)
    executor_memory_gb: int = Field(ge=1, le=120)
    min_executors: int = Field(1, ge=0)
    max_executors: int = Field(ge=1, le=1000)
    dynamic_allocation: bool = True


class TeamSettings(_Model):
    """One team: its own code location, S3 prefix, IAM role, EMR Serverless application and budget."""

    owners: list[str] = Field(min_length=1, description="E-mail addresses; become Dagster asset owners.")
    substrate: Substrate = Field(description="Default substrate of the team's Spark assets.")
    job_size: str = Field(description="Default job size, a key of job_sizes.")
    budget_usd: float = Field(gt=0, description="Monthly budget in USD.")
    upstream_teams: list[str] = Field(default_factory=list, description="Teams whose lake prefixes this team may read.")
    description: str = ""
    interactive: bool = Field(False, description="EMR Studio and a Livy endpoint on the team's EMR Serverless application.")


class ExecutionSettings(_Model):
    """Which substrate runs an asset: per-asset override, then force_substrate, then the asset's spec."""

    force_substrate: Substrate | None = None
    asset_substrates: dict[str, Substrate] = Field(
        default_factory=dict, description="Asset key path ('team/domain/table') to substrate."
    )
    timeout_seconds: int = Field(3600, ge=60, description="Default wall-clock limit of one Spark job, seconds.")


class LocalSparkSettings(_Model):
    """Local Spark: ``connect`` shares one warm Spark Connect server; ``classic`` starts a session per job."""

    mode: Literal["connect", "classic"] = "connect"
    cores: int = Field(2, ge=1, le=64, description="local[N] threads of the Spark driver.")
    driver_memory_gb: int = Field(2, ge=1, le=64)
    idle_timeout_seconds: int = Field(900, ge=10, description="Stop the Connect server after this long unused.")
    shuffle_partitions: int = Field(4, ge=1)
    state_dir: str = Field(".spark/connect", description="Where the Connect server keeps its state and log.")


class ServerlessCapacitySettings(_Model):
    """What infra gives each team's EMR Serverless application (``infra/components/team.py``).

    Warm workers are pre-initialized with the team's default job size and are billed
    while the application is started; ``max_*`` caps all job runs of one application together.
    The last three settings are how ``resources/emr/serverless.py`` runs jobs on it.
    """

    release_label: str = Field("emr-7.9.0", pattern=r"^emr-\d+\.\d+\.\d+$", description="EMR release, e.g. emr-7.9.0.")
    warm_drivers: int = Field(0, ge=0, le=100, description="Pre-initialized driver workers.")
    warm_executors: int = Field(0, ge=0, le=1000, description="Pre-initialized executor workers.")
    max_vcpu: int = Field(64, ge=1, description="vCPU cap of the application.")
    max_memory_gb: int = Field(256, ge=1, description="Memory cap of the application, GiB.")
    max_disk_gb: int = Field(2000, ge=20, description="Disk cap of the application, GiB.")
    idle_timeout_minutes: int = Field(15, ge=1, le=10080, description="Auto-stop after this long without job runs.")
    poll_interval_seconds: float = Field(10, gt=0, le=300, description="Seconds between get_job_run calls.")
    cloudwatch_logging: bool = Field(True, description="Driver logs to the team's CloudWatch log group too.")
    log_wait_seconds: float = Field(60, ge=0, le=900, description="Longest wait for driver logs after a job run ends.")


class InstanceGroup(_Model):
    """One instance group of an EMR Classic cluster (``RunJobFlow`` ``Instances.InstanceGroups``)."""

    role: Literal["MASTER", "CORE", "TASK"]
    instance_type: str = Field(pattern=r"^[a-z][a-z0-9-]*\.[a-z0-9]+$", description="EC2 instance type (m5.xlarge).")
    count: int = Field(1, ge=1, le=500)
    market: Literal["ON_DEMAND", "SPOT"] = "ON_DEMAND"


class InstanceFleet(_Model):
    """One instance fleet of an EMR Classic cluster (``RunJobFlow`` ``Instances.InstanceFleets``)."""

    role: Literal["MASTER", "CORE", "TASK"]
    instance_types: list[str] = Field(min_length=1, description="Instance types EMR may choose from.")
    on_demand_units: int = Field(0, ge=0)
    spot_units: int = Field(0, ge=0)


class BootstrapAction(_Model):
    """A script every node runs before applications start (``RunJobFlow`` ``BootstrapActions``)."""

    name: str
    path: str = Field(pattern=r"^s3://", description="s3:// URI of the script.")
    args: list[str] = Field(default_factory=list)


class ClusterProfile(_Model):
    """A transient EMR Classic cluster: what ``run_job_flow`` is asked for. Give instance groups or fleets."""

    release_label: str = Field("emr-7.9.0", pattern=r"^emr-\d+\.\d+\.\d+$")
    instance_groups: list[InstanceGroup] = Field(default_factory=list)
    instance_fleets: list[InstanceFleet] = Field(default_factory=list)
    bootstrap_actions: list[BootstrapAction] = Field(default_factory=list)
    managed_scaling_max_units: int | None = Field(None, ge=1, description="Managed scaling upper limit; null: off.")
    managed_scaling_min_units: int = Field(1, ge=1)
    idle_timeout_seconds: int = Field(900, ge=60, le=604800, description="Auto-termination after this long idle.")
    security_configuration: bool = Field(True, description="Use the stage's EMR security configuration (infra).")

    @model_validator(mode="after")
    def _groups_or_fleets(self) -> ClusterProfile:
        if bool(self.instance_groups) == bool(self.instance_fleets):
            raise ValueError("give either instance_groups or instance_fleets")
        roles = [g.role for g in self.instance_groups or self.instance_fleets]
        if roles.count("MASTER") != 1:
            raise ValueError("needs exactly one MASTER instance group or fleet")
        return self


class EmrClassicSettings(_Model):
    """How the launcher runs jobs on EMR on EC2 (``resources/emr/classic.py``).

    ``transient``: a cluster per job from the profile named like the job size (else
    ``default``), terminated when the step ends. ``shared``: the step is added to the
    long-running cluster named ``shared_cluster`` (state WAITING or RUNNING).
    """

    mode: Literal["transient", "shared"] = "transient"
    shared_cluster: str | None = Field(None, description="Name of the long-running cluster (mode shared).")
    profiles: dict[str, ClusterProfile] = Field(default_factory=dict)
    poll_interval_seconds: float = Field(15, gt=0, le=300, description="Seconds between describe calls.")
    log_wait_seconds: float = Field(330, ge=0, le=900, description="EMR uploads step logs every 5 minutes.")

    @model_validator(mode="after")
    def _mode(self) -> EmrClassicSettings:
        if self.mode == "shared" and not self.shared_cluster:
            raise ValueError("mode shared needs shared_cluster")
        if self.mode == "transient" and "default" not in self.profiles:
            raise ValueError("mode transient needs a cluster profile named 'default'")
        return self


class TaskSize(_Model):
    """CPU units (1024 = 1 vCPU) and memory (MiB) of one ECS Fargate task."""

    cpu: int = Field(512, ge=256, le=16384)
    memory_mb: int = Field(1024, ge=512, le=122880)


class DeploymentSettings(_Model):
    """The Dagster deployment on ECS Fargate that infra builds (``infra/components/dagster_deployment.py``).

    Users reach the UI at ``https://<hostname>`` after signing in with Amazon Cognito;
    ``hosted_zone`` is the Route 53 public zone that holds ``hostname``.
    """

    enabled: bool = False
    hostname: str | None = Field(None, pattern=r"^[a-z0-9.-]+\.[a-z]{2,}$")
    hosted_zone: str | None = Field(None, pattern=r"^[a-z0-9.-]+\.[a-z]{2,}$")
    image_tag: str = Field("latest", description="Tag of the platform image in the stage's ECR repository.")
    vpc_cidr: str = Field("10.40.0.0/16", pattern=r"^\d+\.\d+\.\d+\.\d+/16$")
    webserver: TaskSize = TaskSize(cpu=512, memory_mb=1024)
    daemon: TaskSize = TaskSize(cpu=256, memory_mb=1024)
    code_location: TaskSize = TaskSize(cpu=256, memory_mb=1024)
    run: TaskSize = TaskSize(cpu=1024, memory_mb=2048)
    database_instance_class: str = Field("db.t4g.small", pattern=r"^db\.[a-z0-9]+\.[a-z0-9]+$")
    database_storage_gb: int = Field(20, ge=20, le=1000)

    @model_validator(mode="after")
    def _hostname_when_enabled(self) -> DeploymentSettings:
        if self.enabled and not (self.hostname and self.hosted_zone):
            raise ValueError("expected hostname and hosted_zone when enabled is true")
        return self


class CostSettings(_Model):
    """Cost estimates, Cost Explorer, budget alerts and orphan cleanup (``emr_platform/cost``).

    ``spot_discount`` is the fraction taken off the EC2 on-demand price for Spot instances
    (the EMR surcharge is not discounted); ``budget_thresholds`` are fractions of a team's
    monthly budget at which the budget sensor fires once per month; ``sns_topic`` is the name
    of the SNS topic alerts are published to (none: no publishing).
    """

    spot_discount: float = Field(0.6, ge=0, lt=1, description="Fraction off the EC2 on-demand price for Spot.")
    sns_topic: str | None = Field(None, pattern=r"^[A-Za-z0-9_-]{1,256}$", description="SNS topic name for budget alerts.")
    budget_thresholds: list[float] = Field(default_factory=lambda: [0.8, 1.0], min_length=1)
    cost_explorer: bool = Field(True, description="Query AWS Cost Explorer (each request costs USD 0.01).")
    orphan_sensor: bool = Field(True, description="Look for EMR clusters and job runs whose Dagster run ended.")


class PlatformConfig(_Model):
    """The merged configuration of one stage."""

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
    local_spark: LocalSparkSettings = LocalSparkSettings()
    emr_serverless: ServerlessCapacitySettings = ServerlessCapacitySettings()
    emr_classic: EmrClassicSettings | None = None
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


def _read_yaml(path: Path, label: str) -> dict:
    if not path.is_file():
        raise ConfigError([f"{label}: file not found ({path})"])
    try:
        data = load_yaml(path.read_bytes(), label)
    except YamlRefused as exc:
        problems = exc.problems
    else:
        problems = []
    if problems:  # raised outside the except block: no __context__ holding the document
        raise ConfigError(problems)
    data = {} if data is None else data
    if not isinstance(data, dict):
        raise ConfigError([f"{label}: expected a mapping at the top level, got {type(data).__name__}"])
    return data


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
    if kind == "too_short":
        return f"expected at least {error['ctx']['min_length']} item(s), got {got}"
    return f"{error['msg'].lower()}, got {got}"


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
        for i, upstream in enumerate(team.upstream_teams):
            if upstream not in config.teams or upstream == name:
                problems.append(
                    f"{origin(('teams', name, 'upstream_teams'))}: teams.{name}.upstream_teams.{i}: "
                    f"expected another declared team, got {upstream!r}"
                )
    used = (
        {config.execution.force_substrate}
        if config.execution.force_substrate
        else {team.substrate for team in config.teams.values()} | set(config.execution.asset_substrates.values())
    )
    if "emr-classic" in used and config.emr_classic is None:
        problems.append(f"{origin(('emr_classic',))}: emr_classic: expected a section (some assets run on emr-classic)")
    for substrate in sorted(used & {"emr-classic", "emr-serverless"}):
        for purpose in ("artifacts_root", "logs_root"):
            if not str(getattr(config.lake, purpose) or "").startswith("s3://"):
                problems.append(
                    f"{origin(('lake', purpose))}: lake.{purpose}: expected an s3:// URI (assets run on {substrate}), "
                    f"got {getattr(config.lake, purpose)!r}"
                )
    for key in config.execution.asset_substrates:
        if len(key.split("/")) != 3 or key.split("/")[0] not in config.teams:
            problems.append(
                f"{origin(('execution', 'asset_substrates', key))}: execution.asset_substrates.{key}: "
                "expected an asset key 'team/domain/table' of a declared team"
            )
    return problems + _check_worker_sizes(config, origin) + _check_instance_types(config, origin)


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
    base = _read_yaml(root / CONFIG_FILE, CONFIG_FILE)
    override = _read_yaml(stage_file, stage_label)
    for label, data in ((CONFIG_FILE, base), (stage_label, override)):
        if "stage" in data:
            raise ConfigError([f"{label}: stage: unknown key (the stage is the file name under {STAGES_DIR}/)"])
    merged = deep_merge(base, override)

    def origin(loc: tuple) -> str:
        return stage_label if _set_by(override, loc) else CONFIG_FILE

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
