"""The prod Dagster deployment: its rendered instance and workspace files are valid for Dagster itself."""

from __future__ import annotations

import json

import yaml
from dagster._config import validate_config
from dagster._core.instance.config import dagster_instance_config_schema
from dagster_aws.ecs import EcsRunLauncher
from dagster_aws.s3.compute_log_manager import S3ComputeLogManager
from dagster_aws.ecs.container_context import EcsContainerContext

from emr_platform.config import load_config
from pulumi.runtime.rpc import _special_secret_sig as SECRET_VALUE_SIG, _special_sig_key as SECRET_SIG
from infra import dagster_instance as di


def _containers(prod) -> dict[str, dict]:
    return {
        r.inputs["family"]: json.loads(r.inputs["containerDefinitions"])[0]
        for r in prod.of_type("aws:ecs/taskDefinition:TaskDefinition")
    }


def test_instance_yaml_validates_against_dagster_and_uses_the_ecs_run_launcher():
    instance = di.instance(load_config("prod"))
    result = validate_config(dagster_instance_config_schema(), instance)
    assert result.success, result.errors
    launcher = instance["run_launcher"]
    assert (launcher["module"], launcher["class"]) == ("dagster_aws.ecs", "EcsRunLauncher")
    result = validate_config(EcsRunLauncher.config_type(), launcher["config"])
    assert result.success, result.errors
    assert instance["storage"]["postgres"]["postgres_db"]["password"] == {"env": di.ENV_PG_PASSWORD}
    logs = instance["compute_logs"]
    assert (logs["module"], logs["class"]) == ("dagster_aws.s3.compute_log_manager", "S3ComputeLogManager")
    result = validate_config(S3ComputeLogManager.config_type(), logs["config"])
    assert result.success, result.errors
    assert logs["config"]["prefix"] == {"env": di.ENV_COMPUTE_LOGS_PREFIX}


def test_task_definitions_carry_the_rendered_files_and_the_database_secret(prod):
    containers = _containers(prod)
    config = load_config("prod")
    assert set(containers) == {f"emr-platform-prod-dagster-{n}" for n in ["webserver", "daemon"]} | {
        f"emr-platform-prod-dagster-code-{location}" for location in [*config.teams, "platform"]
    }
    for container in containers.values():
        env = {e["name"]: e["value"] for e in container["environment"]}
        assert yaml.safe_load(env["DAGSTER_INSTANCE_YAML"]) == di.instance(config)
        workspace = yaml.safe_load(env["DAGSTER_WORKSPACE_YAML"])
        assert [w["grpc_server"]["location_name"] for w in workspace["load_from"]] == [*config.teams, "platform"]
        assert env[di.ENV_PG_HOST] == "emr-platform-prod-dagster.rds.example"
        assert container["secrets"] == [{"name": di.ENV_PG_PASSWORD, "valueFrom": env[di.ENV_PG_PASSWORD_ARN]}]


def test_each_code_location_runs_its_team_module_with_the_team_task_role(prod):
    for team in load_config("prod").teams:
        shell, flag, command = _containers(prod)[f"emr-platform-prod-dagster-code-{team}"]["command"]
        assert (shell, flag) == ("sh", "-c")
        assert f"-m {di.code_locations()[team]} --location-name {team}" in command
        context = json.loads(command.split("--container-context '")[1].rstrip("'"))
        assert context["ecs"]["task_role_arn"] == f"arn:aws:iam::123456789012:role/emr-platform-prod-{team}-dagster"
        # Its runs write compute logs under the team's own logs prefix, as its code server does.
        own_logs = f"{di.ENV_COMPUTE_LOGS_PREFIX}={team}/dagster/compute-logs"
        assert context["ecs"]["env_vars"] == [own_logs]
        env = {e["name"]: e["value"] for e in _containers(prod)[f"emr-platform-prod-dagster-code-{team}"]["environment"]}
        assert f"{di.ENV_COMPUTE_LOGS_PREFIX}={env[di.ENV_COMPUTE_LOGS_PREFIX]}" == own_logs
        EcsContainerContext.create_from_config(context)  # dagster-aws accepts it


def test_alb_signs_in_with_cognito_before_forwarding_and_has_waf(prod):
    https = next(r for r in prod.of_type("aws:lb/listener:Listener") if r.inputs["port"] == 443)
    actions = sorted(https.inputs["defaultActions"], key=lambda a: a["order"])
    assert [a["type"] for a in actions] == ["authenticate-cognito", "forward"]
    assert https.inputs["sslPolicy"].startswith("ELBSecurityPolicy-TLS13")
    (association,) = prod.of_type("aws:wafv2/webAclAssociation:WebAclAssociation")
    (alb,) = prod.of_type("aws:lb/loadBalancer:LoadBalancer")
    (acl,) = prod.of_type("aws:wafv2/webAcl:WebAcl")
    assert association.inputs["resourceArn"] == alb.outputs["arn"]
    assert association.inputs["webAclArn"] == acl.outputs["arn"]
    assert {r["name"] for r in acl.inputs["rules"]} >= {"AWSManagedRulesCommonRuleSet", "rate-limit"}
    (client,) = prod.of_type("aws:cognito/userPoolClient:UserPoolClient")
    assert client.inputs["callbackUrls"] == ["https://dagster.example.com/oauth2/idpresponse"]
    (database,) = prod.of_type("aws:rds/instance:Instance")
    assert database.inputs["publiclyAccessible"] is False and database.inputs["storageEncrypted"] is True
    # The password reaches RDS as a Pulumi secret (encrypted in state), never as plain text.
    assert database.inputs["password"] == {SECRET_SIG: SECRET_VALUE_SIG, "value": "test-only-password"}


# Every AWS call the EMR launchers (resources/emr) make from a team's run, as IAM actions.
LAUNCHER_ACTIONS = {
    "emr-serverless:ListApplications", "emr-serverless:GetApplication", "emr-serverless:StartApplication",
    "emr-serverless:StartJobRun", "emr-serverless:GetJobRun", "emr-serverless:CancelJobRun",
    "elasticmapreduce:RunJobFlow", "elasticmapreduce:ListClusters", "elasticmapreduce:DescribeCluster",
    "elasticmapreduce:AddJobFlowSteps", "elasticmapreduce:ListSteps", "elasticmapreduce:DescribeStep",
    "elasticmapreduce:CancelSteps", "elasticmapreduce:ListInstances", "elasticmapreduce:TerminateJobFlows",
    "iam:GetRole", "iam:GetInstanceProfile", "iam:PassRole", "logs:GetLogEvents",
    "s3:GetObject", "s3:PutObject", "s3:ListBucket",
}


def test_each_run_role_allows_what_the_emr_launchers_call(prod):
    for team in load_config("prod").teams:
        (policy,) = [r for r in prod.of_type("aws:iam/rolePolicy:RolePolicy") if r.name.endswith(f"-{team}-run-access")]
        statements = json.loads(policy.inputs["policy"])["Statement"]
        allowed = {action for s in statements if s["Effect"] == "Allow" for action in s["Action"]}
        assert LAUNCHER_ACTIONS <= allowed, LAUNCHER_ACTIONS - allowed
        logs_reads = [s for s in statements if s.get("Sid") == "ReadJobOutput"]
        assert logs_reads[0]["Resource"][0].endswith(f"/{team}/*")
        (sessions,) = [s for s in statements if s.get("Sid") == "OwnApplicationSessions"]
        assert {"emr-serverless:StartSession", "emr-serverless:GetSessionEndpoint", "emr-serverless:TerminateSession"} <= set(sessions["Action"])
        application = next(s for s in statements if s.get("Sid") == "UseOwnApplication")["Resource"][0]
        assert sessions["Resource"] == [application, application + "/sessions/*"]  # the team's own application only


def test_the_platform_location_is_deployed_with_what_its_assets_and_sensors_call(prod):
    shell, flag, command = _containers(prod)["emr-platform-prod-dagster-code-platform"]["command"]
    assert "-m assets.platform_cost --location-name platform" in command
    context = json.loads(command.split("--container-context '")[1].rstrip("'"))
    assert context["ecs"]["task_role_arn"].endswith(":role/emr-platform-prod-platform-dagster")
    (policy,) = [r for r in prod.of_type("aws:iam/rolePolicy:RolePolicy") if r.name.endswith("-platform-run-access")]
    statements = {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}
    allowed = {action for s in statements.values() for action in s["Action"]}
    assert {"ce:GetCostAndUsage", "sns:Publish", "elasticmapreduce:TerminateJobFlows", "elasticmapreduce:CancelSteps",
            "emr-serverless:CancelJobRun", "emr-serverless:TerminateSession", "s3:PutObject"} <= allowed
    assert statements["WriteCostTables"]["Resource"] == ["arn:aws:s3:::emr-platform-prod-lake/platform/*"]
    assert statements["PublishBudgetAlerts"]["Resource"][0].endswith(":emr-platform-prod-budget-alerts")
