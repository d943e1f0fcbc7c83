"""Everything one team owns: job roles, EMR Serverless application, Glue database, budget, log group."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from emr_platform import naming
from emr_platform.config import PlatformConfig
from infra.components.sessions import ApplicationSessions
from infra.documents import assume_role, document, team_s3_statements

LOG_RETENTION_DAYS = 90
BUDGET_ALERT_PERCENT = 80


@dataclass
class TeamArgs:
    config: PlatformConfig
    kms_key_arn: pulumi.Input[str]
    account_id: pulumi.Input[str]
    budget_topic_arn: pulumi.Input[str]


def _glue_statements(config: PlatformConfig, team: str, arn) -> list[dict]:
    readable = [naming.glue_database(config, t) for t in [team, *config.team(team).upstream_teams]]
    own = naming.glue_database(config, team)
    return [
        {
            "Sid": "ReadCatalog",
            "Effect": "Allow",
            "Action": ["glue:GetDatabase", "glue:GetTable", "glue:GetTables", "glue:GetPartition",
                       "glue:GetPartitions", "glue:BatchGetPartition"],
            "Resource": [arn("catalog")] + [arn(f"database/{db}") for db in readable]
            + [arn(f"table/{db}/*") for db in readable],
        },
        {
            "Sid": "WriteOwnDatabase",
            "Effect": "Allow",
            "Action": ["glue:CreateTable", "glue:UpdateTable", "glue:DeleteTable", "glue:CreatePartition",
                       "glue:BatchCreatePartition", "glue:UpdatePartition", "glue:DeletePartition",
                       "glue:BatchDeletePartition"],
            "Resource": [arn("catalog"), arn(f"database/{own}"), arn(f"table/{own}/*")],
        },
    ]


class Team(pulumi.ComponentResource):
    """One team's AWS resources, named by :mod:`emr_platform.naming` and published to SSM.

    The component's name is the team's name; every taggable child carries ``team=<name>``.
    """

    application_id: pulumi.Output[str]
    execution_role_arn: pulumi.Output[str]
    instance_profile_role_arn: pulumi.Output[str]

    def __init__(self, name: str, args: TeamArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("emr-platform:team:Team", name, None, opts)
        config, team = args.config, name
        settings = config.team(team)
        size = config.job_sizes[settings.job_size]
        capacity = config.emr_serverless
        region = config.platform.region
        tags = {"team": team}
        child = pulumi.ResourceOptions(parent=self)

        def arn(service: str, suffix: str) -> pulumi.Output[str]:
            return pulumi.Output.concat(f"arn:aws:{service}:{region}:", args.account_id, ":", suffix)

        log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=naming.log_group(config, team),
            retention_in_days=LOG_RETENTION_DAYS,
            kms_key_id=args.kms_key_arn,
            tags=tags,
            opts=child,
        )
        statements = team_s3_statements(config, team) + _glue_statements(config, team, lambda s: arn("glue", s)) + [
            {
                "Sid": "WriteOwnLogs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                "Resource": [log_group.arn, pulumi.Output.concat(log_group.arn, ":*")],
            },
            {"Sid": "FindLogGroups", "Effect": "Allow", "Action": ["logs:DescribeLogGroups"],
             "Resource": [arn("logs", "log-group:*")]},
            {"Sid": "UseStageKey", "Effect": "Allow",
             "Action": ["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"], "Resource": [args.kms_key_arn]},
        ]
        access = pulumi.Output.json_dumps(document(*statements))

        execution_role = aws.iam.Role(
            f"{name}-serverless",
            name=naming.serverless_execution_role(config, team),
            description=f"EMR Serverless job runs of team {team}",
            assume_role_policy=pulumi.Output.json_dumps(assume_role("emr-serverless.amazonaws.com", args.account_id)),
            tags=tags,
            opts=child,
        )
        aws.iam.RolePolicy(f"{name}-serverless-access", role=execution_role.id, policy=access, opts=child)

        ec2_role = aws.iam.Role(
            f"{name}-ec2",
            name=naming.instance_profile(config, team),
            description=f"EC2 instances of team {team}'s EMR Classic clusters",
            assume_role_policy=pulumi.Output.json_dumps(assume_role("ec2.amazonaws.com")),
            tags=tags,
            opts=child,
        )
        aws.iam.RolePolicy(f"{name}-ec2-access", role=ec2_role.id, policy=access, opts=child)
        profile = aws.iam.InstanceProfile(
            f"{name}-ec2-profile", name=naming.instance_profile(config, team), role=ec2_role.name, tags=tags, opts=child
        )

        database = aws.glue.CatalogDatabase(
            f"{name}-database",
            name=naming.glue_database(config, team),
            description=settings.description or f"Tables of team {team}",
            location_uri=f"s3://{naming.bucket(config, 'lake')}/{team}/",
            tags=tags,
            opts=child,
        )

        # Worker sizes are strings such as "4 vCPU" / "16 GB":
        # https://docs.aws.amazon.com/emr-serverless/latest/userguide/application-capacity.html
        def worker(cores: int, memory_gb: int) -> dict:
            return {"cpu": f"{cores} vCPU", "memory": f"{memory_gb} GB"}

        warm = [
            {"initial_capacity_type": kind,
             "initial_capacity_config": {"worker_count": count, "worker_configuration": worker(cores, memory)}}
            for kind, count, cores, memory in (
                ("Driver", _team_or(settings.warm_drivers, capacity.warm_drivers), size.driver_cores, size.driver_memory_gb),
                ("Executor", _team_or(settings.warm_executors, capacity.warm_executors), size.executor_cores,
                 size.executor_memory_gb),
            )
            if count
        ]
        logs_bucket = naming.bucket(config, "logs")
        application = aws.emrserverless.Application(
            f"{name}-application",
            name=naming.serverless_application(config, team),
            type="spark",
            release_label=capacity.release_label,
            initial_capacities=warm or None,
            maximum_capacity={
                "cpu": f"{capacity.max_vcpu} vCPU",
                "memory": f"{capacity.max_memory_gb} GB",
                "disk": f"{capacity.max_disk_gb} GB",
            },
            auto_start_configuration={"enabled": True},
            auto_stop_configuration={"enabled": True, "idle_timeout_minutes": capacity.idle_timeout_minutes},
            monitoring_configuration={
                "cloudwatch_logging_configuration": {
                    "enabled": True,
                    "log_group_name": log_group.name,
                    "encryption_key_arn": args.kms_key_arn,
                },
                "s3_monitoring_configuration": {
                    "log_uri": f"s3://{logs_bucket}/{team}/emr-serverless/",
                    "encryption_key_arn": args.kms_key_arn,
                },
            },
            interactive_configuration=(
                {"studio_enabled": True, "livy_endpoint_enabled": True} if settings.interactive else None
            ),
            job_level_cost_allocation_configuration={"enabled": True},
            tags=tags,
            opts=child,
        )
        if settings.interactive:  # Spark Connect sessions (emr-7.13.0+, checked by the config loader)
            ApplicationSessions(f"{name}-sessions", application.id, config.platform.region,
                                pulumi.ResourceOptions(parent=self, depends_on=[application]))

        aws.budgets.Budget(
            f"{name}-budget",
            name=naming.budget(config, team),
            budget_type="COST",
            limit_amount=f"{settings.budget_usd:.2f}",
            limit_unit="USD",
            time_unit="MONTHLY",
            # "user:<key>$<value>" selects spend tagged team=<team> (Budgets API, CostFilters).
            cost_filters=[{"name": "TagKeyValue", "values": [f"user:team${team}"]}],
            notifications=[
                {
                    "comparison_operator": "GREATER_THAN",
                    "threshold": BUDGET_ALERT_PERCENT,
                    "threshold_type": "PERCENTAGE",
                    "notification_type": notification,
                    "subscriber_email_addresses": list(settings.owners),
                    "subscriber_sns_topic_arns": [args.budget_topic_arn],
                }
                for notification in ("FORECASTED", "ACTUAL")
            ],
            tags=tags,
            opts=child,
        )

        published = {
            "application-id": application.id,
            "application-arn": application.arn,
            "execution-role-arn": execution_role.arn,
            "instance-profile": profile.name,
            "log-group": log_group.name,
            "glue-database": database.name,
        }
        for key, value in published.items():
            aws.ssm.Parameter(
                f"{name}-param-{key}",
                name=naming.ssm_parameter(config, "teams", team, key),
                type="String",
                insecure_value=value,  # IDs and names, not secrets: readable in outputs and diffs
                tags=tags,
                opts=child,
            )

        self.application_id = application.id
        self.application_arn = application.arn
        self.execution_role_arn = execution_role.arn
        self.instance_profile_role_arn = ec2_role.arn
        self.log_group_arn = log_group.arn
        self.register_outputs({key.replace("-", "_"): value for key, value in published.items()})


def _team_or(team_value: int | None, stage_value: int) -> int:
    """A team's own pre-initialized worker count (``teams.<t>.warm_*``), else the stage's (``emr_serverless.warm_*``)."""
    return stage_value if team_value is None else team_value
