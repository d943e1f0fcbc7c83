"""The sections of the platform's configuration that every substrate shares.

The base :class:`SettingsModel` (frozen, unknown keys forbidden) and :class:`ConfigError` live
here, below both :mod:`emr_platform.config` (the loader, which assembles the sections) and
:mod:`emr_platform.substrates` (each substrate's own section), so neither imports the other's
internals. No I/O.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

CONFIG_FILE = "config.yml"
STAGES_DIR = "stages"


class ConfigError(ValueError):
    """Raised for any invalid configuration; ``problems`` holds one line per error."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("invalid configuration:\n  " + "\n  ".join(problems))


class SettingsModel(BaseModel):
    """Base of every config section: immutable, unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class PlatformSettings(SettingsModel):
    """Who the platform is and where it lives."""

    name: str = Field(pattern=r"^[a-z][a-z0-9-]{1,40}$", description="Prefix of every AWS resource name.")
    region: str = Field(pattern=r"^[a-z]{2}(-[a-z]+)+-\d$", description="AWS region, e.g. us-east-1.")


class LakeSettings(SettingsModel):
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


class JobSize(SettingsModel):
    """Resources one Spark job asks for. Memory in GiB, cores in vCPU."""

    driver_cores: int = Field(ge=1, le=16)
    driver_memory_gb: int = Field(ge=1, le=120)
    executor_cores: int = Field(ge=1, le=16)
    executor_memory_gb: int = Field(ge=1, le=120)
    min_executors: int = Field(1, ge=0)
    max_executors: int = Field(ge=1, le=1000)
    dynamic_allocation: bool = True


class TaskSize(SettingsModel):
    """CPU units (1024 = 1 vCPU) and memory (MiB) of one ECS Fargate task."""

    cpu: int = Field(512, ge=256, le=16384)
    memory_mb: int = Field(1024, ge=512, le=122880)


class DeploymentSettings(SettingsModel):
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


class CostSettings(SettingsModel):
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
