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

from emr_platform import naming, tags
from emr_platform.lake import prefixes
from emr_platform.config import PlatformConfig
from emr_platform.settings import TaskSize
from infra import dagster_instance as di
from infra.components.network import Network, NetworkArgs
from infra.components.signed_in_entry import SignedInEntry, SignedInEntryArgs
from infra.documents import arn, assume_role, control_s3_statements, document, run_s3_statements

LOG_RETENTION_DAYS = 90


@dataclass
class DagsterDeploymentArgs:
    config: PlatformConfig
    account_id: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str]
    db_secret_arn: pulumi.Input[str]
    db_password: pulumi.Input[str]
    teams: dict[str, tuple[pulumi.Input[str], pulumi.Input[str], pulumi.Input[str]]]
    """Team to (EMR Serverless application ARN, execution role ARN, EMR Classic instance role ARN)."""
    service_role_arn: pulumi.Input[str]


class DagsterDeployment(pulumi.ComponentResource):
    """Everything behind ``https://<deployment.hostname>``; outputs its URL and the ECS cluster."""

    url: pulumi.Output[str]

    def __init__(self, name: str, args: DagsterDeploymentArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("emr-platform:dagster_deployment:DagsterDeployment", name, None, opts)
        self._name, self._args, self._config = name, args, args.config
        self._settings = args.config.deployment
        self._child = pulumi.ResourceOptions(parent=self)
        self._net = Network(f"{name}-net", NetworkArgs(self._settings.vpc_cidr), self._child)
        entry = self._entry()
        tasks_sg, db_sg = self._security_groups(entry)
        database = self._database(db_sg)
        repository = aws.ecr.Repository(
            f"{name}-image",
            name=naming.image_repository(self._config),
            image_scanning_configuration={"scan_on_push": True},
            encryption_configurations=[{"encryption_type": "KMS", "kms_key": args.kms_key_arn}],
            opts=self._child,
        )
        cluster = aws.ecs.Cluster(
            f"{name}-cluster", name=naming.ecs_cluster(self._config),
            settings=[{"name": "containerInsights", "value": "enabled"}], opts=self._child,
        )
        execution_role, run_roles, control_role = self._roles(cluster)
        self._services(entry, tasks_sg, database, repository, cluster, execution_role, run_roles, control_role)
        self.url = entry.url
        self.cluster_arn = cluster.arn
        self.register_outputs({"url": self.url, "cluster_arn": cluster.arn, "database_address": database.address,
                               "image_repository_url": repository.repository_url})

    def _arn(self, service: str, suffix: str) -> pulumi.Output[str]:
        return arn(service, self._config.platform.region, self._args.account_id, suffix)

    def _entry(self) -> SignedInEntry:
        """The internet-facing ALB with Cognito sign-in and WAF, forwarding to the webserver."""
        prefix = naming.prefix(self._config)
        return SignedInEntry(
            f"{self._name}-entry",
            SignedInEntryArgs(
                hostname=self._settings.hostname,
                hosted_zone=self._settings.hosted_zone,
                vpc_id=self._net.vpc_id,
                subnet_ids=self._net.public_subnet_ids,
                target_port=di.WEBSERVER_PORT,
                health_check_path="/server_info",
                user_pool_name=f"{prefix}-dagster",
                cognito_domain=f"{prefix}-dagster",
            ),
            self._child,
        )

    def _security_groups(self, entry: SignedInEntry) -> tuple[aws.ec2.SecurityGroup, aws.ec2.SecurityGroup]:
        """Tasks reachable from the ALB (webserver) and each other (gRPC); Postgres only from the tasks."""
        name, child, vpc_id = self._name, self._child, self._net.vpc_id

        def ingress(rname: str, group, port: int, **source) -> None:
            aws.vpc.SecurityGroupIngressRule(f"{name}-{rname}", security_group_id=group.id, ip_protocol="tcp",
                                             from_port=port, to_port=port, opts=child, **source)

        tasks_sg = aws.ec2.SecurityGroup(f"{name}-tasks", vpc_id=vpc_id, opts=child,
                                         description="Dagster webserver, daemon, code servers and runs")
        db_sg = aws.ec2.SecurityGroup(f"{name}-db", vpc_id=vpc_id, opts=child,
                                      description="Dagster Postgres: only from Dagster tasks")
        ingress("tasks-from-alb", tasks_sg, di.WEBSERVER_PORT, referenced_security_group_id=entry.security_group_id)
        ingress("tasks-grpc", tasks_sg, di.CODE_SERVER_PORT, referenced_security_group_id=tasks_sg.id)
        # Tasks reach AWS APIs, ECR and EMR through the NAT gateway.
        aws.vpc.SecurityGroupEgressRule(f"{name}-tasks-out", security_group_id=tasks_sg.id, ip_protocol="-1",
                                        cidr_ipv4="0.0.0.0/0", opts=child)
        ingress("db-from-tasks", db_sg, 5432, referenced_security_group_id=tasks_sg.id)
        return tasks_sg, db_sg

    def _database(self, db_sg: aws.ec2.SecurityGroup) -> aws.rds.Instance:
        """Dagster's Postgres: private, encrypted with the stage key, multi-AZ, protected from deletion."""
        name, settings, prefix = self._name, self._settings, naming.prefix(self._config)
        subnet_group = aws.rds.SubnetGroup(f"{name}-db", subnet_ids=self._net.private_subnet_ids, opts=self._child)
        return aws.rds.Instance(
            f"{name}-db",
            identifier=f"{prefix}-dagster",
            engine="postgres",
            engine_version="16",
            instance_class=settings.database_instance_class,
            allocated_storage=settings.database_storage_gb,
            max_allocated_storage=settings.database_storage_gb * 5,
            storage_type="gp3",
            storage_encrypted=True,
            kms_key_id=self._args.kms_key_arn,
            db_name=di.DB_NAME,
            username=di.DB_USER,
            password=self._args.db_password,
            db_subnet_group_name=subnet_group.name,
            vpc_security_group_ids=[db_sg.id],
            publicly_accessible=False,
            multi_az=True,
            backup_retention_period=7,
            deletion_protection=True,
            final_snapshot_identifier=f"{prefix}-dagster-final",
            auto_minor_version_upgrade=True,
            opts=self._child,
        )

    def _roles(self, cluster: aws.ecs.Cluster) -> tuple[aws.iam.Role, dict[str, aws.iam.Role], aws.iam.Role]:
        """The task execution role, one run role per code location (each team's and the platform's,
        which also runs the orphan sensor) and the control role of the webserver and daemon."""
        name, config, args, child = self._name, self._config, self._args, self._child
        ecs_trust = pulumi.Output.json_dumps(assume_role("ecs-tasks.amazonaws.com", args.account_id))

        def role(suffix: str, statements: list[dict], **extra) -> aws.iam.Role:
            created = aws.iam.Role(f"{name}-{suffix}", assume_role_policy=ecs_trust, opts=child, **extra)
            aws.iam.RolePolicy(f"{name}-{suffix}-access", role=created.id, opts=child,
                               policy=pulumi.Output.json_dumps(document(*statements)))
            return created

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

        run_roles = {
            team: role(f"{team}-run", _run_statements(config, team, args.teams, args, self._arn),
                       name=naming.dagster_run_role(config, team), tags={"team": team})
            for team in args.teams
        }
        run_roles[prefixes.PLATFORM] = role(
            "platform-run", _platform_statements(config, args, self._arn),
            name=naming.dagster_run_role(config, prefixes.PLATFORM),
        )
        control_role = role("control", [
            # EcsRunLauncher registers a task definition per code location and inspects its own
            # task; these actions accept no resource scoping.
            {"Sid": "RegisterRunTaskDefinitions", "Effect": "Allow",
             "Action": ["ecs:RegisterTaskDefinition", "ecs:DescribeTaskDefinition", "ecs:ListTasks",
                        "ec2:DescribeNetworkInterfaces"],
             "Resource": ["*"]},
            {"Sid": "RunTasksInTheCluster", "Effect": "Allow", "Action": ["ecs:RunTask"],
             "Resource": [self._arn("ecs", "task-definition/*")],
             "Condition": {"ArnEquals": {"ecs:cluster": cluster.arn}}},
            {"Sid": "ManageRunTasks", "Effect": "Allow",
             "Action": ["ecs:DescribeTasks", "ecs:StopTask", "ecs:TagResource"],
             "Resource": [self._arn("ecs", f"task/{naming.ecs_cluster(config)}/*")]},
            {"Sid": "PassRunRoles", "Effect": "Allow", "Action": ["iam:PassRole"],
             "Resource": [execution_role.arn] + [r.arn for r in run_roles.values()],
             "Condition": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}},
            *control_s3_statements(config, list(run_roles)),
            {"Sid": "UseStageKey", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
             "Resource": [args.kms_key_arn]},
        ])
        return execution_role, run_roles, control_role

    def _services(self, entry, tasks_sg, database, repository, cluster, execution_role, run_roles, control_role) -> None:
        """One ECS service per code location (found through Cloud Map), the daemon and the webserver.

        Each code location's server and runs get its run role and its own compute-log prefix
        (``DAGSTER_COMPUTE_LOGS_PREFIX``, also in the container context its runs are launched with).
        """
        name, config = self._name, self._config
        namespace_name = f"dagster.{naming.prefix(config)}.internal"
        namespace = aws.servicediscovery.PrivateDnsNamespace(f"{name}-ns", name=namespace_name,
                                                             vpc=self._net.vpc_id, opts=self._child)
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs", name=f"/{config.platform.name}/{config.stage}/dagster",
            retention_in_days=LOG_RETENTION_DAYS, kms_key_id=self._args.kms_key_arn, opts=self._child,
        )
        image = pulumi.Output.concat(repository.repository_url, ":", self._settings.image_tag)
        environment = {
            "DAGSTER_HOME": di.DAGSTER_HOME,
            "EMR_PLATFORM_STAGE": config.stage,
            "DAGSTER_INSTANCE_YAML": di.render(di.instance(config)),
            "DAGSTER_WORKSPACE_YAML": di.render(di.workspace(config, namespace_name)),
            di.ENV_PG_HOST: database.address,
            di.ENV_PG_PASSWORD_ARN: self._args.db_secret_arn,
            di.ENV_COMPUTE_LOGS_BUCKET: prefixes.root(config.lake, "logs").bucket,
            "DAGSTER_CURRENT_IMAGE": image,
        }
        tasks = _Tasks(image, environment, log_group, execution_role, cluster, tasks_sg)
        for location, module in di.code_locations().items():
            self._code_location(tasks, namespace, location, module, run_roles[location])
        workspace_file = f"{di.DAGSTER_HOME}/workspace.yaml"
        # The daemon and webserver write no compute logs of their own: the platform's prefix.
        daemon = self._task(tasks, "daemon", self._settings.daemon, f"dagster-daemon run -w {workspace_file}",
                            control_role, None, prefixes.PLATFORM)
        self._service(tasks, "daemon", daemon)
        webserver = self._task(
            tasks, "webserver", self._settings.webserver,
            f"dagster-webserver -h 0.0.0.0 -p {di.WEBSERVER_PORT} -w {workspace_file}", control_role,
            di.WEBSERVER_PORT, prefixes.PLATFORM,
        )
        self._service(
            tasks, "webserver", webserver, depends_on=[entry.https_listener],
            load_balancers=[{"target_group_arn": entry.target_group_arn, "container_name": "webserver",
                             "container_port": di.WEBSERVER_PORT}],
        )

    def _code_location(self, tasks: _Tasks, namespace, location: str, module: str, role: aws.iam.Role) -> None:
        """A code location's gRPC server, registered in Cloud Map, handing its runs its role and log prefix."""
        team = location if location in self._config.teams else None
        compute_logs = prefixes.compute_logs(self._config.lake, location).key
        context = role.arn.apply(lambda role_arn: json.dumps(di.container_context(role_arn, compute_logs)))
        command = context.apply(
            lambda ctx: f"dagster code-server start -h 0.0.0.0 -p {di.CODE_SERVER_PORT} -m {module} "
            f"--location-name {location} --container-context '{ctx}'"
        )
        definition = self._task(tasks, f"code-{location}", self._settings.code_location, command, role,
                                di.CODE_SERVER_PORT, location)
        registry = aws.servicediscovery.Service(
            f"{self._name}-{location}-discovery", name=location, namespace_id=namespace.id,
            dns_config={"namespace_id": namespace.id, "routing_policy": "MULTIVALUE",
                        "dns_records": [{"ttl": 10, "type": "A"}]},
            tags={"team": team} if team else None, opts=self._child,
        )
        self._service(tasks, f"code-{location}", definition, team, service_registries={"registry_arn": registry.arn})

    def _task(self, tasks: _Tasks, suffix: str, size: TaskSize, command, task_role, port: int | None,
              location: str) -> aws.ecs.TaskDefinition:
        """A Fargate task definition running ``command`` after writing dagster.yaml and workspace.yaml
        from the environment; ``location`` picks the compute-log prefix."""
        config = self._config
        env = {**tasks.environment, di.ENV_COMPUTE_LOGS_PREFIX: prefixes.compute_logs(config.lake, location).key}
        container = {
            "name": suffix,
            "image": tasks.image,
            "essential": True,
            # A command, not an entry point: EcsRunLauncher copies this container for runs
            # and overrides the command with `dagster api execute_run ...`.
            "command": ["sh", "-c", pulumi.Output.concat(WRITE_FILES, command)],
            "environment": [{"name": k, "value": v} for k, v in env.items()],
            "secrets": [{"name": di.ENV_PG_PASSWORD, "valueFrom": self._args.db_secret_arn}],
            "portMappings": [{"containerPort": port, "protocol": "tcp"}] if port else [],
            "logConfiguration": {"logDriver": "awslogs", "options": {
                "awslogs-group": tasks.log_group.name, "awslogs-region": config.platform.region,
                "awslogs-stream-prefix": suffix}},
        }
        team = location if location in config.teams else None
        return aws.ecs.TaskDefinition(
            f"{self._name}-{suffix}",
            family=f"{naming.prefix(config)}-dagster-{suffix}",
            cpu=str(size.cpu),
            memory=str(size.memory_mb),
            network_mode="awsvpc",
            requires_compatibilities=["FARGATE"],
            execution_role_arn=tasks.execution_role.arn,
            task_role_arn=task_role.arn,
            container_definitions=pulumi.Output.json_dumps([container]),
            tags={"team": team} if team else None,
            opts=self._child,
        )

    def _service(self, tasks: _Tasks, suffix: str, definition, team: str | None = None, depends_on=None,
                 **extra) -> aws.ecs.Service:
        """One always-on Fargate task of ``definition`` in the private subnets."""
        return aws.ecs.Service(
            f"{self._name}-{suffix}",
            name=suffix,
            cluster=tasks.cluster.arn,
            task_definition=definition.arn,
            desired_count=1,
            launch_type="FARGATE",
            network_configuration={"subnets": self._net.private_subnet_ids, "security_groups": [tasks.security_group.id],
                                   "assign_public_ip": False},
            propagate_tags="SERVICE",
            enable_ecs_managed_tags=True,
            tags={"team": team} if team else None,
            opts=pulumi.ResourceOptions(parent=self, depends_on=depends_on or []),
            **extra,
        )


# The image holds the platform; the instance and workspace files come from the environment.
WRITE_FILES = (
    f'mkdir -p {di.DAGSTER_HOME} && printf "%s" "$DAGSTER_INSTANCE_YAML" > {di.DAGSTER_HOME}/dagster.yaml'
    f' && printf "%s" "$DAGSTER_WORKSPACE_YAML" > {di.DAGSTER_HOME}/workspace.yaml && exec '
)


@dataclass(frozen=True)
class _Tasks:
    """What every task definition and service of the deployment shares."""

    image: pulumi.Output[str]
    environment: dict
    log_group: aws.cloudwatch.LogGroup
    execution_role: aws.iam.Role
    cluster: aws.ecs.Cluster
    security_group: aws.ec2.SecurityGroup


def _run_statements(config: PlatformConfig, team: str, roles: dict, args: DagsterDeploymentArgs, arn_of) -> list[dict]:
    """What a team's code server and runs may do: only its own application, clusters, roles and prefixes.

    EMR Classic clusters are the team's by their ``team`` tag: a cluster is created only with
    ``team=<team>`` and every later action needs that tag on it, so no team adds a step to (or
    ends) another team's cluster, whose steps run with that team's instance profile.
    """
    application_arn, execution_role_arn, instance_role_arn = roles[team]
    job_runs = pulumi.Output.concat(application_arn, "/jobruns/*")
    others = [arns[0] for other, arns in sorted(roles.items()) if other != team]
    clusters = arn_of("elasticmapreduce", "cluster/*")
    own_tag = {"aws:ResourceTag/team": team}  # EMR also knows it as elasticmapreduce:ResourceTag/team
    tag_on_create = {"StringEquals": {"aws:RequestTag/team": team}, "ForAnyValue:StringEquals": {"aws:TagKeys": ["team"]}}
    return [
        {"Sid": "StartOwnJobRuns", "Effect": "Allow", "Action": ["emr-serverless:StartJobRun"],
         "Resource": [application_arn], "Condition": tag_on_create},
        {"Sid": "TagOwnJobRuns", "Effect": "Allow", "Action": ["emr-serverless:TagResource"],
         "Resource": [job_runs], "Condition": {"StringEquals": {"aws:RequestTag/team": team}}},
        {"Sid": "UseOwnApplication", "Effect": "Allow",
         "Action": ["emr-serverless:GetApplication", "emr-serverless:StartApplication", "emr-serverless:GetJobRun",
                    "emr-serverless:CancelJobRun", "emr-serverless:GetDashboardForJobRun"],
         "Resource": [application_arn, job_runs]},
        # Other teams' applications: no job run, interactive session (Livy, Studio) or change,
        # whatever a later grant says.
        *([{"Sid": "DenyOtherApplications", "Effect": "Deny", "Action": ["emr-serverless:*"],
            "Resource": [r for arn in others for r in (arn, pulumi.Output.concat(arn, "/jobruns/*"),
                                                        pulumi.Output.concat(arn, "/sessions/*"))]}]
          if others else []),
        # Spark Connect sessions (emr-platform spark session), on the team's own application only.
        {"Sid": "OwnApplicationSessions", "Effect": "Allow",
         "Action": ["emr-serverless:StartSession", "emr-serverless:GetSession", "emr-serverless:GetSessionEndpoint",
                    "emr-serverless:TerminateSession", "emr-serverless:ListSessions", "emr-serverless:TagResource"],
         "Resource": [application_arn, pulumi.Output.concat(application_arn, "/sessions/*")]},
        {"Sid": "FindApplications", "Effect": "Allow", "Action": ["emr-serverless:ListApplications"],
         "Resource": ["*"]},
        # RunJobFlow and ListApplications have no resource type: the team tag is what scopes creation.
        {"Sid": "CreateOwnClusters", "Effect": "Allow", "Action": ["elasticmapreduce:RunJobFlow"],
         "Resource": ["*"], "Condition": tag_on_create},
        # Tags given on RunJobFlow are added to a cluster that has no team tag yet.
        {"Sid": "TagNewClusters", "Effect": "Allow", "Action": ["elasticmapreduce:AddTags"], "Resource": [clusters],
         "Condition": {"StringEquals": {"aws:RequestTag/team": team},
                       "Null": {"aws:ResourceTag/team": "true"}}},
        {"Sid": "ManageOwnClusters", "Effect": "Allow",
         "Action": ["elasticmapreduce:DescribeCluster", "elasticmapreduce:AddJobFlowSteps",
                    "elasticmapreduce:DescribeStep", "elasticmapreduce:ListSteps", "elasticmapreduce:CancelSteps",
                    "elasticmapreduce:TerminateJobFlows", "elasticmapreduce:ListInstances"],
         "Resource": [clusters], "Condition": {"StringEquals": own_tag}},
        {"Sid": "TagOwnClusters", "Effect": "Allow", "Action": ["elasticmapreduce:AddTags"], "Resource": [clusters],
         "Condition": {"StringEquals": own_tag, "StringEqualsIfExists": {"aws:RequestTag/team": team}}},
        # Each role only to the service that runs with it (Serverless jobs; EMR and its instances).
        {"Sid": "PassExecutionRole", "Effect": "Allow", "Action": ["iam:PassRole"], "Resource": [execution_role_arn],
         "Condition": {"StringLike": {"iam:PassedToService": "emr-serverless.amazonaws.com"}}},
        {"Sid": "PassServiceRole", "Effect": "Allow", "Action": ["iam:PassRole"], "Resource": [args.service_role_arn],
         "Condition": {"StringLike": {"iam:PassedToService": "elasticmapreduce.amazonaws.com*"}}},
        {"Sid": "PassInstanceRole", "Effect": "Allow", "Action": ["iam:PassRole"], "Resource": [instance_role_arn],
         "Condition": {"StringLike": {"iam:PassedToService": "ec2.amazonaws.com*"}}},
        {"Sid": "ReadTeamRoles", "Effect": "Allow", "Action": ["iam:GetRole"],
         "Resource": [execution_role_arn, instance_role_arn, args.service_role_arn]},
        {"Sid": "FindInstanceProfile", "Effect": "Allow", "Action": ["iam:GetInstanceProfile"],
         "Resource": [arn("iam", "", args.account_id, f"instance-profile/{naming.instance_profile(config, team)}")]},
        {"Sid": "ReadPublishedNames", "Effect": "Allow", "Action": ["ssm:GetParameter", "ssm:GetParametersByPath"],
         "Resource": [arn_of("ssm", f"parameter{naming.ssm_parameter(config)}/*")]},
        {"Sid": "ReadJobLogs", "Effect": "Allow", "Action": ["logs:GetLogEvents", "logs:FilterLogEvents"],
         "Resource": [arn_of("logs", f"log-group:{naming.log_group(config, team)}:*")]},
        *run_s3_statements(config, team),
        *_every_run_statements(args),
    ]


def _platform_statements(config: PlatformConfig, args: DagsterDeploymentArgs, arn_of) -> list[dict]:
    """What the platform's code server and runs may do (``assets/platform_cost``, ``emr_platform/cost``)."""
    managed = {tags.MANAGED_BY[0]: tags.MANAGED_BY[1]}
    return [
        # GetCostAndUsage has no resource type.
        {"Sid": "ReadCostExplorer", "Effect": "Allow", "Action": ["ce:GetCostAndUsage"], "Resource": ["*"]},
        {"Sid": "PublishBudgetAlerts", "Effect": "Allow", "Action": ["sns:Publish"],
         "Resource": [arn_of("sns", naming.budget_topic(config))]},
        # The orphan sensor: every team's clusters and job runs the platform launched, stopped only
        # when their Dagster run ended.
        {"Sid": "FindOrphanSteps", "Effect": "Allow",
         "Action": ["elasticmapreduce:DescribeCluster", "elasticmapreduce:ListSteps"],
         "Resource": [arn_of("elasticmapreduce", "cluster/*")]},
        {"Sid": "StopOrphanClusters", "Effect": "Allow",
         "Action": ["elasticmapreduce:TerminateJobFlows", "elasticmapreduce:CancelSteps"],
         "Resource": [arn_of("elasticmapreduce", "cluster/*")],
         "Condition": {"StringEquals": {f"aws:ResourceTag/{k}": v for k, v in managed.items()}}},
        {"Sid": "FindOrphanJobRuns", "Effect": "Allow", "Action": ["emr-serverless:ListApplications"],
         "Resource": ["*"]},
        {"Sid": "StopOrphanJobRuns", "Effect": "Allow",
         "Action": ["emr-serverless:ListJobRuns", "emr-serverless:GetJobRun", "emr-serverless:CancelJobRun",
                    "emr-serverless:ListSessions", "emr-serverless:GetSession", "emr-serverless:TerminateSession"],
         "Resource": [arn_of("emr-serverless", "/applications/*"),
                      arn_of("emr-serverless", "/applications/*/jobruns/*"),
                      arn_of("emr-serverless", "/applications/*/sessions/*")]},
        *run_s3_statements(config, prefixes.PLATFORM),
        *_every_run_statements(args),
    ]


def _every_run_statements(args: DagsterDeploymentArgs) -> list[dict]:
    """What every code location's code server and runs need, the teams' and the platform's."""
    return [
        # ListClusters has no resource type: how a retried launch, shared mode and the orphan sensor find clusters.
        {"Sid": "FindClusters", "Effect": "Allow", "Action": ["elasticmapreduce:ListClusters"], "Resource": ["*"]},
        {"Sid": "UseStageKey", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
         "Resource": [args.kms_key_arn]},
    ]
