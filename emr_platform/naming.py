"""The contract between ``infra/`` and the launchers: deterministic names of what infra makes.

Infra creates each resource under the name given here, and the launchers look it up
by the same name at run time (e.g. ``emr-serverless list-applications`` by name,
``iam get-role``), so no ID or ARN is ever pasted into config. Pure functions of
``(config, team)``; nothing here calls AWS.
"""

from __future__ import annotations

import re

from emr_platform.config import PlatformConfig

# Tag keys on every AWS resource and job run; Cost Explorer groups spend by them.
COST_TAGS = ("team", "asset", "substrate", "stage")
MANAGED_BY_TAG = ("managed-by", "emr-platform")


def prefix(config: PlatformConfig) -> str:
    """``<platform name>-<stage>``: the start of every resource name of a stage."""
    return f"{config.platform.name}-{config.stage}"


def bucket(config: PlatformConfig, purpose: str) -> str:
    """Bucket name of ``purpose`` (``lake``, ``artifacts`` or ``logs``) taken from the stage's lake URIs."""
    uri = {"lake": config.lake.root, "artifacts": config.lake.artifacts_root, "logs": config.lake.logs_root}[purpose]
    if not uri or not uri.startswith("s3://"):
        raise ValueError(f"stage {config.stage}: lake.{purpose} root is not an s3:// URI: {uri!r}")
    return uri.removeprefix("s3://").split("/", 1)[0]


def serverless_application(config: PlatformConfig, team: str) -> str:
    """Name of the team's EMR Serverless application."""
    return f"{prefix(config)}-{team}"


def serverless_execution_role(config: PlatformConfig, team: str) -> str:
    """Name of the IAM role the team's EMR Serverless job runs assume (at most 64 chars)."""
    return f"{prefix(config)}-{team}-serverless"[:64]


def instance_profile(config: PlatformConfig, team: str) -> str:
    """Name of the IAM instance profile (and its role) of the team's EMR Classic clusters."""
    return f"{prefix(config)}-{team}-ec2"[:64]


def emr_service_role(config: PlatformConfig) -> str:
    """Name of the platform-wide EMR service role."""
    return f"{prefix(config)}-emr-service"


def security_configuration(config: PlatformConfig) -> str:
    """Name of the EMR security configuration (KMS at rest, TLS in transit)."""
    return f"{prefix(config)}-security"


def log_group(config: PlatformConfig, team: str) -> str:
    """CloudWatch log group of the team's EMR Serverless job runs."""
    return f"/{config.platform.name}/{config.stage}/{team}"


def glue_database(config: PlatformConfig, team: str) -> str:
    """Glue catalog database of the team (Glue names: lower case, underscores)."""
    return f"{prefix(config)}_{team}".replace("-", "_")


def budget(config: PlatformConfig, team: str) -> str:
    """Name of the team's AWS Budget."""
    return f"{prefix(config)}-{team}"


def budget_topic(config: PlatformConfig) -> str:
    """Name of the SNS topic budget alerts are published to."""
    return f"{prefix(config)}-budget-alerts"


def ssm_parameter(config: PlatformConfig, *parts: str) -> str:
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


def kms_alias(config: PlatformConfig) -> str:
    """Alias of the stage's KMS key that encrypts buckets, logs, secrets and databases."""
    return f"alias/{prefix(config)}"


def dagster_run_role(config: PlatformConfig, team: str) -> str:
    """Name of the IAM role the team's Dagster code location and runs use on ECS (at most 64 chars)."""
    return f"{prefix(config)}-{team}-dagster"[:64]


def db_password_secret(config: PlatformConfig) -> str:
    """Name of the Secrets Manager secret holding the password of Dagster's Postgres database."""
    return f"{prefix(config)}/dagster/db-password"


def ecs_cluster(config: PlatformConfig) -> str:
    """Name of the ECS cluster running the Dagster deployment and its runs."""
    return f"{prefix(config)}-dagster"


def image_repository(config: PlatformConfig) -> str:
    """Name of the ECR repository holding the platform image (Dagster + code locations)."""
    return f"{prefix(config)}-platform"


_STEP_MARKS = re.compile(r"\[run (?P<run_id>[0-9a-f-]{36})\] \[(?P<token>[0-9a-f]{16})\]$")


def step_name(asset: str, run_id: str, client_token: str) -> str:
    """Name of an EMR step: ``<team/domain/table> [run <run id>] [<16 chars of the client token>]``.

    Steps take no tags, so the name carries what the orphan sensor (the Dagster run) and a
    retried launch (the token) look for; see :func:`step_run_id`.
    """
    return f"{asset} [run {run_id}] [{client_token[:16]}]"


def step_run_id(name: str) -> tuple[str, str] | None:
    """``(team, Dagster run id)`` of a step named by :func:`step_name`, else None."""
    marks = _STEP_MARKS.search(name)
    return (name.split("/", 1)[0], marks["run_id"]) if marks else None
