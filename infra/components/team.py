"""Everything one team owns: job roles, EMR Serverless application, Glue database, budget, log group."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from emr_platform import naming
from emr_platform.lake import prefixes
from emr_platform.config import PlatformConfig
from infra.components.sessions import ApplicationSessions
from infra.documents import arn, assume_role, document, team_s3_statements

LOG_RETENTION_DAYS = 90
BUDGET_ALERT_PERCENT = 80


@dataclass
class TeamArgs:
    config: PlatformConfig
    kms_key_arn: pulumi.Input[str]
    account_id: pulumi.Input[str]
    budget_topic_arn: pulumi.Input[str]


def _glue_statements(config: PlatformConfig, team: str, glue_arn) -> list[dict]:
    readable = [naming.glue_database(config, t) for t in [team, *config.team(team).upstream_teams]]
    own = naming.glue_database(config, team)
    return [
        {
            "Sid": "ReadCatalog",
            "Effect": "Allow",
            "Action": ["glue:GetDatabase", "glue:GetTable", "glue:GetTables", "glue:GetPartition",
                       "glue:GetPartitions", "glue:BatchGetPartition"],
            "Resource": [glue_arn("catalog")] + [glue_arn(f"database/{db}") for db in readable]
            + [glue_arn(f"table/{db}/*") for db in readable],
        },
        {
            "Sid": "WriteOwnDatabase",
            "Effect": "Allow",
            "Action": ["glue:CreateTable", "glue:UpdateTable", "glue:DeleteTable", "glue:CreatePartition",
                       "glue:BatchCreatePartition", "glue:UpdatePartition", "glue:DeletePartition",
                       "glue:BatchDeletePartition"],
            "Resource": [glue_arn("catalog"), glue_arn(f"database/{own}"), glue_arn(f"table/{own}/*")],
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
        self._name, self._args, self._config = name, args, args.config
        self._settings = args.config.team(name)
        self._tags = {"team": name}
        self._child = pulumi.ResourceOptions(parent=self)

        log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=naming.log_group(self._config, name),
            retention_in_days=LOG_RETENTION_DAYS,
            kms_key_id=args.kms_key_arn,
            tags=self._tags,
            opts=self._child,
        )
        execution_role, ec2_role, profile = self._roles(log_group)
        database = aws.glue.CatalogDatabase(
            f"{name}-database",
            name=naming.glue_database(self._config, name),
            description=self._settings.description or f"Tables of team {name}",
            location_uri=prefixes.team(self._config.lake, name, "lake").uri + "/",
            tags=self._tags,
            opts=self._child,
        )
        application = self._application(log_group)
        self._budget()
        published = {
            "application-id": application.id,
            "application-arn": application.arn,
            "execution-role-arn": execution_role.arn,
            "instance-profile": profile.name,
            "log-group": log_group.name,
            "glue-database": database.name,
        }
        self._publish(published)

        self.application_id = application.id
        self.application_arn = application.arn
        self.execution_role_arn = execution_role.arn
        self.instance_profile_role_arn = ec2_role.arn
        self.log_group_arn = log_group.arn
        self.register_outputs({key.replace("-", "_"): value for key, value in published.items()})

    def _arn(self, service: str, suffix: str) -> pulumi.Output[str]:
        return arn(service, self._config.platform.region, self._args.account_id, suffix)

    def _access(self, log_group: aws.cloudwatch.LogGroup, *, instance_profile: bool) -> pulumi.Output[str]:
        """The job roles' policy: S3 (:mod:`infra.documents`), Glue, the team's log group, the stage key."""
        config, team = self._config, self._name
        statements = team_s3_statements(config, team, instance_profile=instance_profile)
        statements += _glue_statements(config, team, lambda suffix: self._arn("glue", suffix))
        statements += [
            {
                "Sid": "WriteOwnLogs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                "Resource": [log_group.arn, pulumi.Output.concat(log_group.arn, ":*")],
            },
            # DescribeLogGroups has no resource type.
            {"Sid": "FindLogGroups", "Effect": "Allow", "Action": ["logs:DescribeLogGroups"], "Resource": ["*"]},
            {"Sid": "UseStageKey", "Effect": "Allow",
             "Action": ["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"], "Resource": [self._args.kms_key_arn]},
        ]
        return pulumi.Output.json_dumps(document(*statements))

    def _roles(self, log_group: aws.cloudwatch.LogGroup):
        """The EMR Serverless execution role and EMR Classic's instance role and profile.

        Only the instance role reads the TLS material (EMR Classic's in-transit encryption).
        """
        name, config, args, child = self._name, self._config, self._args, self._child
        execution_role = aws.iam.Role(
            f"{name}-serverless",
            name=naming.serverless_execution_role(config, name),
            description=f"EMR Serverless job runs of team {name}",
            assume_role_policy=pulumi.Output.json_dumps(assume_role("emr-serverless.amazonaws.com", args.account_id)),
            tags=self._tags,
            opts=child,
        )
        aws.iam.RolePolicy(f"{name}-serverless-access", role=execution_role.id,
                           policy=self._access(log_group, instance_profile=False), opts=child)
        ec2_role = aws.iam.Role(
            f"{name}-ec2",
            name=naming.instance_profile(config, name),
            description=f"EC2 instances of team {name}'s EMR Classic clusters",
            # No aws:SourceAccount here: EC2 does not send it when an instance takes its profile's role.
            assume_role_policy=pulumi.Output.json_dumps(assume_role("ec2.amazonaws.com")),
            tags=self._tags,
            opts=child,
        )
        aws.iam.RolePolicy(f"{name}-ec2-access", role=ec2_role.id,
                           policy=self._access(log_group, instance_profile=True), opts=child)
        profile = aws.iam.InstanceProfile(
            f"{name}-ec2-profile", name=naming.instance_profile(config, name), role=ec2_role.name, tags=self._tags,
            opts=child,
        )
        return execution_role, ec2_role, profile

    def _application(self, log_group: aws.cloudwatch.LogGroup) -> aws.emrserverless.Application:
        """The team's EMR Serverless application: warm workers of the team's job size, logs to S3 and CloudWatch."""
        config, capacity = self._config, self._config.emr_serverless
        size = config.job_sizes[self._settings.job_size]

        # Worker sizes are strings such as "4 vCPU" / "16 GB":
        # https://docs.aws.amazon.com/emr-serverless/latest/userguide/application-capacity.html
        def worker(cores: int, memory_gb: int) -> dict:
            return {"cpu": f"{cores} vCPU", "memory": f"{memory_gb} GB"}

        warm = [
            {"initial_capacity_type": kind,
             "initial_capacity_config": {"worker_count": count, "worker_configuration": worker(cores, memory)}}
            for kind, count, cores, memory in (
                ("Driver", _team_or(self._settings.warm_drivers, capacity.warm_drivers), size.driver_cores,
                 size.driver_memory_gb),
                ("Executor", _team_or(self._settings.warm_executors, capacity.warm_executors), size.executor_cores,
                 size.executor_memory_gb),
            )
            if count
        ]
        application = aws.emrserverless.Application(
            f"{self._name}-application",
            name=naming.serverless_application(config, self._name),
            type="spark",
            release_label=capacity.release_label,
            architecture=capacity.architecture,
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
                    "encryption_key_arn": self._args.kms_key_arn,
                },
                "s3_monitoring_configuration": {
                    "log_uri": prefixes.substrate_logs(config.lake, self._name, "emr-serverless").uri + "/",
                    "encryption_key_arn": self._args.kms_key_arn,
                },
            },
            interactive_configuration=(
                {"studio_enabled": True, "livy_endpoint_enabled": True} if self._settings.interactive else None
            ),
            job_level_cost_allocation_configuration={"enabled": True},
            tags=self._tags,
            opts=self._child,
        )
        if self._settings.interactive:  # Spark Connect sessions (emr-7.13.0+, checked by the config loader)
            ApplicationSessions(f"{self._name}-sessions", application.id, config.platform.region,
                                pulumi.ResourceOptions(parent=self, depends_on=[application]))
        return application

    def _budget(self) -> aws.budgets.Budget:
        """The team's monthly cost budget, alerting its owners and the budget topic at 80 %."""
        team = self._name
        return aws.budgets.Budget(
            f"{team}-budget",
            name=naming.budget(self._config, team),
            budget_type="COST",
            limit_amount=f"{self._settings.budget_usd:.2f}",
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
                    "subscriber_email_addresses": list(self._settings.owners),
                    "subscriber_sns_topic_arns": [self._args.budget_topic_arn],
                }
                for notification in ("FORECASTED", "ACTUAL")
            ],
            tags=self._tags,
            opts=self._child,
        )

    def _publish(self, published: dict[str, pulumi.Input[str]]) -> None:
        """One SSM parameter per key of :data:`emr_platform.naming.TEAM_PARAMETERS`: the launchers' fallback."""
        for key, value in published.items():
            aws.ssm.Parameter(
                f"{self._name}-param-{key}",
                name=naming.ssm_parameter(self._config, "teams", self._name, key),
                type="String",
                insecure_value=value,  # IDs and names, not secrets: readable in outputs and diffs
                tags=self._tags,
                opts=self._child,
            )


def _team_or(team_value: int | None, stage_value: int) -> int:
    """A team's own pre-initialized worker count (``teams.<t>.warm_*``), else the stage's (``emr_serverless.warm_*``)."""
    return stage_value if team_value is None else team_value
