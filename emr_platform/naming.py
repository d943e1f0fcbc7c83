"""The contract between ``infra/`` and the launchers: deterministic names of what infra makes.

Infra creates each resource under the name given here, and the launchers look it up
by the same name at run time (e.g. ``emr-serverless list-applications`` by name,
``iam get-role``), so no ID or ARN is ever pasted into config. Pure functions of
``(stage, team)``; nothing here calls AWS.
"""

from __future__ import annotations

from typing import Protocol

from emr_platform.lake import prefixes
from emr_platform.settings import LakeSettings, PlatformSettings


class StageLike(Protocol):
    """What names are made of: the platform, the stage and its lake roots (a ``PlatformConfig``,
    or the ``Site`` a launcher holds)."""

    platform: PlatformSettings
    stage: str
    lake: LakeSettings



def group_name(team: str, domain: str) -> str:
    """Dagster asset group of a team's domain: ``<team>_<domain>`` in lower snake case (e.g.
    ``data_engineering_core``), so the collapsed lineage shows which team owns each group."""
    return f"{team}_{domain}".replace("-", "_")


def prefix(config: StageLike) -> str:
    """``<platform name>-<stage>``: the start of every resource name of a stage."""
    return f"{config.platform.name}-{config.stage}"


def bucket(config: StageLike, purpose: str) -> str:
    """Bucket name of ``purpose`` (``lake``, ``artifacts`` or ``logs``) taken from the stage's lake URIs
    (:func:`emr_platform.lake.prefixes.root`, which raises ``ValueError`` for a root that is not ``s3://``)."""
    return prefixes.root(config.lake, purpose).bucket


def serverless_application(config: StageLike, team: str) -> str:
    """Name of the team's EMR Serverless application."""
    return f"{prefix(config)}-{team}"


def serverless_execution_role(config: StageLike, team: str) -> str:
    """Name of the IAM role the team's EMR Serverless job runs assume (at most 64 chars)."""
    return f"{prefix(config)}-{team}-serverless"[:64]


def instance_profile(config: StageLike, team: str) -> str:
    """Name of the IAM instance profile (and its role) of the team's EMR Classic clusters."""
    return f"{prefix(config)}-{team}-ec2"[:64]


def emr_service_role(config: StageLike) -> str:
    """Name of the platform-wide EMR service role."""
    return f"{prefix(config)}-emr-service"


def security_configuration(config: StageLike) -> str:
    """Name of the EMR security configuration (KMS at rest, TLS in transit)."""
    return f"{prefix(config)}-security"


def log_group(config: StageLike, team: str) -> str:
    """CloudWatch log group of the team's EMR Serverless job runs."""
    return f"/{config.platform.name}/{config.stage}/{team}"


def glue_database(config: StageLike, team: str) -> str:
    """Glue catalog database of the team (Glue names: lower case, underscores)."""
    return f"{prefix(config)}_{team}".replace("-", "_")


def budget(config: StageLike, team: str) -> str:
    """Name of the team's AWS Budget."""
    return f"{prefix(config)}-{team}"


def alert_topic(config: StageLike, team: str) -> str:
    """Name of the SNS topic a team's run failure alerts are published to."""
    return f"{prefix(config)}-{team}-alerts"


def budget_topic(config: StageLike) -> str:
    """Name of the SNS topic budget alerts are published to."""
    return f"{prefix(config)}-budget-alerts"


def ssm_parameter(config: StageLike, *parts: str) -> str:
    """SSM parameter path infra publishes outputs under: ``/<platform>/<stage>/<parts...>``."""
    return "/" + "/".join([config.platform.name, config.stage, *parts])


# Keys of the SSM parameters infra publishes for each team, under
# ``ssm_parameter(config, "teams", <team>, <key>)``; values are plain strings.
TEAM_PARAMETERS = (
    "application-id",
    "application-arn",
    "execution-role-arn",
    "instance-profile",
    "log-group",
    "glue-database",
)


def kms_alias(config: StageLike) -> str:
    """Alias of the stage's KMS key that encrypts buckets, logs, secrets and databases."""
    return f"alias/{prefix(config)}"


def dagster_run_role(config: StageLike, team: str) -> str:
    """Name of the IAM role the team's Dagster code location and runs use on ECS (at most 64 chars)."""
    return f"{prefix(config)}-{team}-dagster"[:64]


def db_password_secret(config: StageLike) -> str:
    """Name of the Secrets Manager secret holding the password of Dagster's Postgres database."""
    return f"{prefix(config)}/dagster/db-password"


def ecs_cluster(config: StageLike) -> str:
    """Name of the ECS cluster running the Dagster deployment and its runs."""
    return f"{prefix(config)}-dagster"


def image_repository(config: StageLike) -> str:
    """Name of the ECR repository holding the platform image (Dagster + code locations)."""
    return f"{prefix(config)}-platform"
