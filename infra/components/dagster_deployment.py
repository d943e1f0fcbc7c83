"""The Dagster deployment of a stage on ECS Fargate.

Webserver, daemon and one gRPC code server per code location of workspace.yaml (each
team's and the platform's); Postgres on RDS as Dagster's storage;
an internet-facing ALB that signs users in with Amazon Cognito (open-source Dagster has no
login of its own) behind WAF; runs launched by dagster-aws's ``EcsRunLauncher``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from emr_platform import naming
from emr_platform.config import PlatformConfig
from emr_platform.settings import TaskSize
from infra import dagster_instance as di
from infra.components.network import Network, NetworkArgs
from infra.components.signed_in_entry import SignedInEntry, SignedInEntryArgs
from infra.documents import assume_role, document, s3_arn

LOG_RETENTION_DAYS = 90


@dataclass
class DagsterDeploymentArgs:
    config: PlatformConfig
    account_id: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str]
    db_secret_arn: pulumi.Input[str]
    db_password: pulumi.Input[str]
    logs_bucket_arn: pulumi.Input[str]
    artifacts_bucket_arn: pulumi.Input[str]
    teams: dict[str, tuple[pulumi.Input[str], pulumi.Input[str], pulumi.Input[str]]]
    """Team to (EMR Serverless application ARN, execution role ARN, EMR Classic instance role ARN)."""
    service_role_arn: pulumi.Input[str]


class DagsterDeployment(pulumi.ComponentResource):
    """Everything behind ``https://<deployment.hostname>``; outputs its URL and the ECS cluster."""

    url: pulumi.Output[str]

    def __init__(self, name: str, args: DagsterDeploymentArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("emr-platform:dagster_deployment:DagsterDeployment", name, None, opts)
        config, settings = args.config, args.config.deployment
        region = config.platform.region
        child = pulumi.ResourceOptions(parent=self)
        net = Network(f"{name}-net", NetworkArgs(settings.vpc_cidr), child)

        def security_group(suffix: str, description: str) -> aws.ec2.SecurityGroup:
            return aws.ec2.SecurityGroup(f"{name}-{suffix}", vpc_id=net.vpc_id, description=description, opts=child)

        def ingress(rname: str, group, port: int, **source) -> None:
            aws.vpc.SecurityGroupIngressRule(f"{name}-{rname}", security_group_id=group.id, ip_protocol="tcp",
                                             from_port=port, to_port=port, opts=child, **source)

        entry = SignedInEntry(
            f"{name}-entry",
            SignedInEntryArgs(
                hostname=settings.hostname,
                hosted_zone=settings.hosted_zone,
                vpc_id=net.vpc_id,
                subnet_ids=net.public_subnet_ids,
                target_port=di.WEBSERVER_PORT,
                health_check_path="/server_info",
                user_pool_name=f"{naming.prefix(config)}-dagster",
                cognito_domain=f"{naming.prefix(config)}-dagster",
            ),
            child,
        )
        tasks_sg = security_group("tasks", "Dagster webserver, daemon, code servers and runs")
        db_sg = security_group("db", "Dagster Postgres: only from Dagster tasks")
        ingress("tasks-from-alb", tasks_sg, di.WEBSERVER_PORT, referenced_security_group_id=entry.security_group_id)
        ingress("tasks-grpc", tasks_sg, di.CODE_SERVER_PORT, referenced_security_group_id=tasks_sg.id)
        # Tasks reach AWS APIs, ECR and EMR through the NAT gateway.
        aws.vpc.SecurityGroupEgressRule(f"{name}-tasks-out", security_group_id=tasks_sg.id, ip_protocol="-1",
                                        cidr_ipv4="0.0.0.0/0", opts=child)
        ingress("db-from-tasks", db_sg, 5432, referenced_security_group_id=tasks_sg.id)

        # --- Postgres
        subnet_group = aws.rds.SubnetGroup(f"{name}-db", subnet_ids=net.private_subnet_ids, opts=child)
        database = aws.rds.Instance(
            f"{name}-db",
            identifier=f"{naming.prefix(config)}-dagster",
            engine="postgres",
            engine_version="16",
            instance_class=settings.database_instance_class,
            allocated_storage=settings.database_storage_gb,
            max_allocated_storage=settings.database_storage_gb * 5,
            storage_type="gp3",
            storage_encrypted=True,
            kms_key_id=args.kms_key_arn,
            db_name=di.DB_NAME,
            username=di.DB_USER,
            password=args.db_password,
            db_subnet_group_name=subnet_group.name,
            vpc_security_group_ids=[db_sg.id],
            publicly_accessible=False,
            multi_az=True,
            backup_retention_period=7,
            deletion_protection=True,
            final_snapshot_identifier=f"{naming.prefix(config)}-dagster-final",
            auto_minor_version_upgrade=True,
            opts=child,
        )

        # --- Roles
        ecs_trust = pulumi.Output.json_dumps(assume_role("ecs-tasks.amazonaws.com", args.account_id))
        execution_role = aws.iam.Role(f"{name}-task-execution", assume_role_policy=ecs_trust, opts=child)
        aws.iam.RolePolicyAttachment(
            f"{name}-task-execution-managed", role=execution_role.name, opts=child,
            policy_arn="arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy",
        )
        read_secret = document(
            {"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"], "Resource": [args.db_secret_arn]},
            {"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": [args.kms_key_arn]},
        )
        aws.iam.RolePolicy(f"{name}-task-execution-secret", role=execution_role.id,
                           policy=pulumi.Output.json_dumps(read_secret), opts=child)
        repository = aws.ecr.Repository(
            f"{name}-image",
            name=naming.image_repository(config),
            image_scanning_configuration={"scan_on_push": True},
            encryption_configurations=[{"encryption_type": "KMS", "kms_key": args.kms_key_arn}],
            opts=child,
        )
        image = pulumi.Output.concat(repository.repository_url, ":", settings.image_tag)
        cluster = aws.ecs.Cluster(
            f"{name}-cluster", name=naming.ecs_cluster(config),
            settings=[{"name": "containerInsights", "value": "enabled"}], opts=child,
        )
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs", name=f"/{config.platform.name}/{config.stage}/dagster",
            retention_in_days=LOG_RETENTION_DAYS, kms_key_id=args.kms_key_arn, opts=child,
        )

        def arn(service: str, suffix: str) -> pulumi.Output[str]:
            return pulumi.Output.concat(f"arn:aws:{service}:{region}:", args.account_id, ":", suffix)

        run_roles: dict[str, aws.iam.Role] = {}
        for team, (application_arn, execution_role_arn, instance_role_arn) in args.teams.items():
            role = aws.iam.Role(f"{name}-{team}-run", name=naming.dagster_run_role(config, team),
                                assume_role_policy=ecs_trust, tags={"team": team}, opts=child)
            access = document(*_run_statements(config, team, application_arn, execution_role_arn, instance_role_arn,
                                               args, arn))
            aws.iam.RolePolicy(f"{name}-{team}-run-access", role=role.id, policy=pulumi.Output.json_dumps(access),
                               opts=child)
            run_roles[team] = role
        # The platform's code location: Cost Explorer, the cost report in the lake, budget
        # alerts and the orphan sensor (which runs in its code server).
        platform_role = aws.iam.Role(f"{name}-platform-run", name=naming.dagster_run_role(config, di.PLATFORM_LOCATION),
                                     assume_role_policy=ecs_trust, opts=child)
        aws.iam.RolePolicy(f"{name}-platform-run-access", role=platform_role.id, opts=child,
                           policy=pulumi.Output.json_dumps(document(*_platform_statements(config, args, arn))))
        run_roles[di.PLATFORM_LOCATION] = platform_role

        control_role = aws.iam.Role(f"{name}-control", assume_role_policy=ecs_trust, opts=child)
        control_access = document(
            # EcsRunLauncher registers a task definition per code location and inspects its own
            # task; these actions accept no resource scoping.
            {"Sid": "RegisterRunTaskDefinitions", "Effect": "Allow",
             "Action": ["ecs:RegisterTaskDefinition", "ecs:DescribeTaskDefinition", "ecs:ListTasks",
                        "ec2:DescribeNetworkInterfaces"],
             "Resource": ["*"]},
            {"Sid": "RunTasksInTheCluster", "Effect": "Allow", "Action": ["ecs:RunTask"],
             "Resource": [arn("ecs", "task-definition/*")],
             "Condition": {"ArnEquals": {"ecs:cluster": cluster.arn}}},
            {"Sid": "ManageRunTasks", "Effect": "Allow",
             "Action": ["ecs:DescribeTasks", "ecs:StopTask", "ecs:TagResource"],
             "Resource": [arn("ecs", f"task/{naming.ecs_cluster(config)}/*")]},
            {"Sid": "PassRunRoles", "Effect": "Allow", "Action": ["iam:PassRole"],
             "Resource": [execution_role.arn] + [r.arn for r in run_roles.values()]},
            {"Sid": "ComputeLogs", "Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject", "s3:ListBucket"],
             "Resource": [args.logs_bucket_arn, pulumi.Output.concat(args.logs_bucket_arn, "/dagster/*")]},
            {"Sid": "UseStageKey", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
             "Resource": [args.kms_key_arn]},
        )
        aws.iam.RolePolicy(f"{name}-control-access", role=control_role.id,
                           policy=pulumi.Output.json_dumps(control_access), opts=child)

        # --- Service discovery of the code servers
        namespace_name = f"dagster.{naming.prefix(config)}.internal"
        namespace = aws.servicediscovery.PrivateDnsNamespace(f"{name}-ns", name=namespace_name, vpc=net.vpc_id, opts=child)

        environment = {
            "DAGSTER_HOME": di.DAGSTER_HOME,
            "EMR_PLATFORM_STAGE": config.stage,
            "DAGSTER_INSTANCE_YAML": di.render(di.instance(config)),
            "DAGSTER_WORKSPACE_YAML": di.render(di.workspace(config, namespace_name)),
            di.ENV_PG_HOST: database.address,
            di.ENV_PG_PASSWORD_ARN: args.db_secret_arn,
            di.ENV_COMPUTE_LOGS_BUCKET: pulumi.Output.from_input(args.logs_bucket_arn).apply(lambda a: a.split(":::")[-1]),
            "DAGSTER_CURRENT_IMAGE": image,
        }
        # The image holds the platform; the instance and workspace files come from the environment.
        write_files = (
            f'mkdir -p {di.DAGSTER_HOME} && printf "%s" "$DAGSTER_INSTANCE_YAML" > {di.DAGSTER_HOME}/dagster.yaml'
            f' && printf "%s" "$DAGSTER_WORKSPACE_YAML" > {di.DAGSTER_HOME}/workspace.yaml && exec '
        )

        def task(suffix: str, size: TaskSize, command: str, task_role, port: int | None, team: str | None = None):
            container = {
                "name": suffix,
                "image": image,
                "essential": True,
                # A command, not an entry point: EcsRunLauncher copies this container for runs
                # and overrides the command with `dagster api execute_run ...`.
                "command": ["sh", "-c", pulumi.Output.concat(write_files, command)],
                "environment": [{"name": k, "value": v} for k, v in environment.items()],
                "secrets": [{"name": di.ENV_PG_PASSWORD, "valueFrom": args.db_secret_arn}],
                "portMappings": [{"containerPort": port, "protocol": "tcp"}] if port else [],
                "logConfiguration": {"logDriver": "awslogs", "options": {
                    "awslogs-group": log_group.name, "awslogs-region": region, "awslogs-stream-prefix": suffix}},
            }
            return aws.ecs.TaskDefinition(
                f"{name}-{suffix}",
                family=f"{naming.prefix(config)}-dagster-{suffix}",
                cpu=str(size.cpu),
                memory=str(size.memory_mb),
                network_mode="awsvpc",
                requires_compatibilities=["FARGATE"],
                execution_role_arn=execution_role.arn,
                task_role_arn=task_role.arn,
                container_definitions=pulumi.Output.json_dumps([container]),
                tags={"team": team} if team else None,
                opts=child,
            )

        def service(suffix: str, definition, team: str | None = None, depends_on=None, **extra) -> aws.ecs.Service:
            return aws.ecs.Service(
                f"{name}-{suffix}",
                name=suffix,
                cluster=cluster.arn,
                task_definition=definition.arn,
                desired_count=1,
                launch_type="FARGATE",
                network_configuration={"subnets": net.private_subnet_ids, "security_groups": [tasks_sg.id],
                                       "assign_public_ip": False},
                propagate_tags="SERVICE",
                enable_ecs_managed_tags=True,
                tags={"team": team} if team else None,
                opts=pulumi.ResourceOptions(parent=self, depends_on=depends_on or []),
                **extra,
            )

        workspace_file = f"{di.DAGSTER_HOME}/workspace.yaml"
        for location, module in di.code_locations().items():
            role = run_roles[location]
            team = location if location in config.teams else None
            context = role.arn.apply(lambda role_arn: json.dumps({"ecs": {"task_role_arn": role_arn}}))
            code_command = context.apply(
                lambda ctx, location=location, module=module: f"dagster code-server start -h 0.0.0.0 "
                f"-p {di.CODE_SERVER_PORT} -m {module} --location-name {location} --container-context '{ctx}'"
            )
            definition = task(f"code-{location}", settings.code_location, code_command, role, di.CODE_SERVER_PORT, team)
            registry = aws.servicediscovery.Service(
                f"{name}-{location}-discovery", name=location, namespace_id=namespace.id,
                dns_config={"namespace_id": namespace.id, "routing_policy": "MULTIVALUE",
                            "dns_records": [{"ttl": 10, "type": "A"}]},
                tags={"team": team} if team else None, opts=child,
            )
            service(f"code-{location}", definition, team, service_registries={"registry_arn": registry.arn})
        daemon = task("daemon", settings.daemon, f"dagster-daemon run -w {workspace_file}", control_role, None)
        service("daemon", daemon)
        webserver = task(
            "webserver", settings.webserver,
            f"dagster-webserver -h 0.0.0.0 -p {di.WEBSERVER_PORT} -w {workspace_file}", control_role, di.WEBSERVER_PORT,
        )

        service(
            "webserver", webserver, depends_on=[entry.https_listener],
            load_balancers=[{"target_group_arn": entry.target_group_arn, "container_name": "webserver",
                             "container_port": di.WEBSERVER_PORT}],
        )
        self.url = entry.url
        self.cluster_arn = cluster.arn
        self.register_outputs({"url": self.url, "cluster_arn": cluster.arn, "database_address": database.address,
                               "image_repository_url": repository.repository_url})


def _run_statements(config: PlatformConfig, team: str, application_arn, execution_role_arn, instance_role_arn,
                    args: DagsterDeploymentArgs, arn) -> list[dict]:
    """What a team's code server and runs may do: its own application, its own roles, its own prefixes."""
    return [
        {"Sid": "RunOwnApplication", "Effect": "Allow",
         "Action": ["emr-serverless:StartJobRun", "emr-serverless:GetJobRun", "emr-serverless:CancelJobRun",
                    "emr-serverless:GetDashboardForJobRun", "emr-serverless:GetApplication",
                    "emr-serverless:StartApplication"],
         "Resource": [application_arn, pulumi.Output.concat(application_arn, "/jobruns/*")]},
        # Spark Connect sessions (emr-platform spark session), on the team's own application only.
        {"Sid": "OwnApplicationSessions", "Effect": "Allow",
         "Action": ["emr-serverless:StartSession", "emr-serverless:GetSession", "emr-serverless:GetSessionEndpoint",
                    "emr-serverless:TerminateSession", "emr-serverless:ListSessions", "emr-serverless:TagResource"],
         "Resource": [application_arn, pulumi.Output.concat(application_arn, "/sessions/*")]},
        {"Sid": "FindApplications", "Effect": "Allow", "Action": ["emr-serverless:ListApplications"],
         "Resource": [arn("emr-serverless", "/applications/*")]},
        {"Sid": "EmrClassic", "Effect": "Allow",
         "Action": ["elasticmapreduce:RunJobFlow", "elasticmapreduce:DescribeCluster",
                    "elasticmapreduce:AddJobFlowSteps", "elasticmapreduce:DescribeStep",
                    "elasticmapreduce:ListSteps", "elasticmapreduce:TerminateJobFlows",
                    "elasticmapreduce:AddTags", "elasticmapreduce:CancelSteps", "elasticmapreduce:ListInstances"],
         "Resource": [arn("elasticmapreduce", "cluster/*")]},
        {"Sid": "PassTeamRoles", "Effect": "Allow", "Action": ["iam:PassRole", "iam:GetRole"],
         "Resource": [execution_role_arn, instance_role_arn, args.service_role_arn]},
        {"Sid": "FindInstanceProfile", "Effect": "Allow", "Action": ["iam:GetInstanceProfile"],
         "Resource": [pulumi.Output.concat("arn:aws:iam::", args.account_id,
                                           f":instance-profile/{naming.instance_profile(config, team)}")]},
        {"Sid": "ReadPublishedNames", "Effect": "Allow", "Action": ["ssm:GetParameter", "ssm:GetParametersByPath"],
         "Resource": [arn("ssm", f"parameter{naming.ssm_parameter(config)}/*")]},
        {"Sid": "UploadScripts", "Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject"],
         "Resource": [pulumi.Output.concat(args.artifacts_bucket_arn, f"/{team}/*")]},
        # Driver logs and the jobs' Pipes messages (resources/emr); listing makes a missing key 404, not 403.
        {"Sid": "ReadJobOutput", "Effect": "Allow", "Action": ["s3:GetObject"],
         "Resource": [pulumi.Output.concat(args.logs_bucket_arn, f"/{team}/*")]},
        {"Sid": "ListOwnPrefixes", "Effect": "Allow", "Action": ["s3:ListBucket"],
         "Resource": [args.artifacts_bucket_arn, args.logs_bucket_arn],
         "Condition": {"StringLike": {"s3:prefix": [f"{team}/*"]}}},
        {"Sid": "ReadJobLogs", "Effect": "Allow", "Action": ["logs:GetLogEvents", "logs:FilterLogEvents"],
         "Resource": [arn("logs", f"log-group:{naming.log_group(config, team)}:*")]},
        *_every_run_statements(args),
    ]


def _platform_statements(config: PlatformConfig, args: DagsterDeploymentArgs, arn) -> list[dict]:
    """What the platform's code server and runs may do (``assets/platform_cost``, ``emr_platform/cost``)."""
    lake = naming.bucket(config, "lake")
    return [
        # GetCostAndUsage has no resource type.
        {"Sid": "ReadCostExplorer", "Effect": "Allow", "Action": ["ce:GetCostAndUsage"], "Resource": ["*"]},
        {"Sid": "WriteCostTables", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
         "Resource": [s3_arn(lake, "platform/*")]},
        {"Sid": "ListCostTables", "Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": [s3_arn(lake)],
         "Condition": {"StringLike": {"s3:prefix": ["platform/*"]}}},
        {"Sid": "PublishBudgetAlerts", "Effect": "Allow", "Action": ["sns:Publish"],
         "Resource": [arn("sns", naming.budget_topic(config))]},
        # The orphan sensor: every team's clusters, steps and job runs, stopped only when their Dagster run ended.
        {"Sid": "StopOrphanClusters", "Effect": "Allow",
         "Action": ["elasticmapreduce:DescribeCluster", "elasticmapreduce:TerminateJobFlows",
                    "elasticmapreduce:ListSteps", "elasticmapreduce:CancelSteps"],
         "Resource": [arn("elasticmapreduce", "cluster/*")]},
        {"Sid": "StopOrphanJobRuns", "Effect": "Allow",
         "Action": ["emr-serverless:ListApplications", "emr-serverless:ListJobRuns", "emr-serverless:GetJobRun",
                    "emr-serverless:CancelJobRun", "emr-serverless:ListSessions", "emr-serverless:GetSession",
                    "emr-serverless:TerminateSession"],
         "Resource": [arn("emr-serverless", "/applications/*"), arn("emr-serverless", "/applications/*/jobruns/*"),
                      arn("emr-serverless", "/applications/*/sessions/*")]},
        *_every_run_statements(args),
    ]


def _every_run_statements(args: DagsterDeploymentArgs) -> list[dict]:
    """What every code location's code server and runs need, the teams' and the platform's."""
    return [
        # ListClusters has no resource type: how a retried launch, shared mode and the orphan sensor find clusters.
        {"Sid": "FindClusters", "Effect": "Allow", "Action": ["elasticmapreduce:ListClusters"], "Resource": ["*"]},
        {"Sid": "ComputeLogs", "Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject"],
         "Resource": [pulumi.Output.concat(args.logs_bucket_arn, "/dagster/*")]},
        {"Sid": "UseStageKey", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
         "Resource": [args.kms_key_arn]},
    ]
