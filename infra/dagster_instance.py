"""The Dagster instance and workspace files of the ECS deployment, rendered from config (pure).

Values only known at deploy time (database host, secret ARN) are read by Dagster from
environment variables the task definitions set, so both files are plain functions of config.
"""

from __future__ import annotations

import yaml

from emr_platform import tags
from emr_platform.config import PlatformConfig
from emr_platform.workspace import workspace_locations

CODE_SERVER_PORT = 4000
WEBSERVER_PORT = 3000
DAGSTER_HOME = "/opt/dagster/dagster_home"
# Environment variables the task definitions set and dagster.yaml reads.
ENV_PG_HOST = "DAGSTER_PG_HOST"
ENV_PG_PASSWORD = "DAGSTER_PG_PASSWORD"
ENV_PG_PASSWORD_ARN = "DAGSTER_PG_PASSWORD_ARN"
ENV_COMPUTE_LOGS_BUCKET = "DAGSTER_COMPUTE_LOGS_BUCKET"
ENV_COMPUTE_LOGS_PREFIX = "DAGSTER_COMPUTE_LOGS_PREFIX"  # each code location's own (emr_platform.lake.prefixes)
DB_NAME = "dagster"
DB_USER = "dagster"
PROPAGATED_TAGS = list(tags.COST_TAGS)  # Dagster run tags the ECS run launcher copies onto tasks


PLATFORM_LOCATION = "platform"  # the cost code location (assets/platform_cost), beside the teams'


def code_locations() -> dict[str, str]:
    """``{location name: python module}`` of the repository's workspace.yaml, in its order:
    every team's code location, then the platform's. Deployed exactly as listed there."""
    return workspace_locations()


def instance(config: PlatformConfig) -> dict:
    """``dagster.yaml``: Postgres storage, queued runs, ``EcsRunLauncher``, compute logs in S3."""
    return {
        "storage": {
            "postgres": {
                "postgres_db": {
                    "hostname": {"env": ENV_PG_HOST},
                    "username": DB_USER,
                    "password": {"env": ENV_PG_PASSWORD},
                    "db_name": DB_NAME,
                    "port": 5432,
                    "params": {"sslmode": "require"},
                }
            }
        },
        "run_coordinator": {"module": "dagster.core.run_coordinator", "class": "QueuedRunCoordinator"},
        "run_launcher": {
            "module": "dagster_aws.ecs",
            "class": "EcsRunLauncher",
            "config": {
                # Runs start in the daemon's cluster, subnets and security group, with the
                # code location's image; each code location's container context names the
                # team's task role.
                "use_current_ecs_task_config": True,
                "secrets": [{"name": ENV_PG_PASSWORD, "valueFrom": {"env": ENV_PG_PASSWORD_ARN}}],
                "secrets_tag": None,
                "propagate_tags": {"allow_list": PROPAGATED_TAGS},
                "run_resources": {
                    "cpu": str(config.deployment.run.cpu),
                    "memory": str(config.deployment.run.memory_mb),
                },
            },
        },
        "compute_logs": {
            "module": "dagster_aws.s3.compute_log_manager",
            "class": "S3ComputeLogManager",
            # The prefix differs per code location: each run role writes and reads only its own.
            # So the UI links each step's logs where its run wrote them (the link is recorded in
            # the run's events) instead of fetching them under the webserver's own prefix.
            "config": {"bucket": {"env": ENV_COMPUTE_LOGS_BUCKET}, "prefix": {"env": ENV_COMPUTE_LOGS_PREFIX},
                       "use_ssl": True, "show_url_only": True, "region": config.platform.region},
        },
        "telemetry": {"enabled": False},
    }


def container_context(task_role_arn: str, compute_logs_prefix: str) -> dict:
    """The container context a code location's server hands ``EcsRunLauncher`` for its runs:
    the location's run role and its own compute-log prefix."""
    return {"ecs": {"task_role_arn": task_role_arn, "env_vars": [f"{ENV_COMPUTE_LOGS_PREFIX}={compute_logs_prefix}"]}}


def workspace(config: PlatformConfig, namespace: str) -> dict:
    """``workspace.yaml`` of the webserver and daemon: one gRPC code server per code location
    (each team's and the platform's), found via Cloud Map."""
    return {
        "load_from": [
            {"grpc_server": {"host": f"{location}.{namespace}", "port": CODE_SERVER_PORT, "location_name": location}}
            for location in code_locations()
        ]
    }


def render(document: dict) -> str:
    return yaml.safe_dump(document, sort_keys=False)
