"""What each stack declares, synthesized from config.yml + stages/ under Pulumi's mocks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from emr_platform import naming, tags
from emr_platform.config import ConfigError, available_stages, load_config
from tests.infra.synth import synthesize

TEAM_TYPES = {
    "aws:iam/role:Role": 2,
    "aws:iam/rolePolicy:RolePolicy": 2,
    "aws:iam/instanceProfile:InstanceProfile": 1,
    "aws:emrserverless/application:Application": 1,
    "aws:glue/catalogDatabase:CatalogDatabase": 1,
    "aws:budgets/budget:Budget": 1,
    "aws:cloudwatch/logGroup:LogGroup": 1,
    "aws:ssm/parameter:Parameter": len(naming.TEAM_PARAMETERS),
}
STAGE_TYPES = {
    "aws:kms/key:Key": 1,
    "aws:s3/bucket:Bucket": 3,
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": 3,
    "aws:s3/bucketVersioning:BucketVersioning": 3,
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": 3,
    "aws:s3/bucketPolicy:BucketPolicy": 3,
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": 3,
    "aws:emr/securityConfiguration:SecurityConfiguration": 1,
    "aws:costexplorer/costAllocationTag:CostAllocationTag": len(tags.COST_TAGS),
    "aws:sns/topic:Topic": 1 + len(load_config("dev").teams),  # budget alerts, each team's run failure alerts
    "aws:secretsmanager/secret:Secret": 1,
}
DEPLOYMENT_TYPES = {
    "aws:ecs/cluster:Cluster": 1,
    "aws:rds/instance:Instance": 1,
    "aws:lb/loadBalancer:LoadBalancer": 1,
    "aws:wafv2/webAclAssociation:WebAclAssociation": 1,
    "aws:cognito/userPool:UserPool": 1,
}


def _team_children(synthesis, team: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    team_urn = next(r.urn for r in synthesis.of_type("emr-platform:team:Team") if r.name == team)
    for r in synthesis.resources:
        if r.parent == team_urn:
            counts[r.type] = counts.get(r.type, 0) + 1
    return counts


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_inventory_per_stage(stage, request):
    synthesis = request.getfixturevalue(stage)
    config = load_config(stage)
    for token, per_stage in STAGE_TYPES.items():
        assert synthesis.count(token) == per_stage, token
    for team, settings in config.teams.items():
        sessions = {"pulumi-python:dynamic:Resource": 1} if settings.interactive else {}  # sessionEnabled
        assert _team_children(synthesis, team) == {**TEAM_TYPES, **sessions}, team
    assert synthesis.names("aws:s3/bucket:Bucket", "bucket") == {
        naming.bucket(config, p) for p in ("lake", "artifacts", "logs")
    }
    deployment = {token: synthesis.count(token) for token in DEPLOYMENT_TYPES}
    assert deployment == (DEPLOYMENT_TYPES if config.deployment.enabled else dict.fromkeys(DEPLOYMENT_TYPES, 0))


def test_prod_deploys_dagster_and_dev_does_not(dev, prod):
    assert load_config("prod").deployment.enabled and not load_config("dev").deployment.enabled
    assert prod.outputs["dagster_url"] == "https://dagster.example.com"
    assert "dagster_url" not in dev.outputs
    services = prod.names("aws:ecs/service:Service")
    assert services == {"webserver", "daemon", "code-platform"} | {f"code-{team}" for team in load_config("prod").teams}


def test_every_stage_with_an_aws_account_synthesizes_and_local_is_refused():
    # dev and prod are covered by the fixtures; any other stage file must either synthesize or be local-only.
    for stage in set(available_stages()) - {"dev", "prod"}:
        if load_config(stage).lake.is_s3:
            assert synthesize(stage).count("aws:s3/bucket:Bucket") == 3
        else:
            with pytest.raises(ConfigError, match=r"lake.root: expected an s3:// URI"):
                synthesize(stage)


def test_resources_carry_the_names_launchers_look_up(dev):
    config = load_config("dev")
    teams = list(config.teams)
    assert dev.names("aws:emrserverless/application:Application") == {
        naming.serverless_application(config, t) for t in teams
    }
    assert dev.names("aws:iam/role:Role") >= {naming.serverless_execution_role(config, t) for t in teams} | {
        naming.instance_profile(config, t) for t in teams
    } | {naming.emr_service_role(config)}
    assert dev.names("aws:glue/catalogDatabase:CatalogDatabase") == {naming.glue_database(config, t) for t in teams}
    assert dev.names("aws:budgets/budget:Budget") == {naming.budget(config, t) for t in teams}
    assert dev.names("aws:cloudwatch/logGroup:LogGroup") == {naming.log_group(config, t) for t in teams}
    assert dev.names("aws:emr/securityConfiguration:SecurityConfiguration") == {naming.security_configuration(config)}
    parameters = dev.names("aws:ssm/parameter:Parameter")
    for team in teams:
        assert {naming.ssm_parameter(config, "teams", team, key) for key in naming.TEAM_PARAMETERS} <= parameters
    assert naming.ssm_parameter(config, "buckets", "lake") in parameters


def test_tags_come_from_the_provider_plus_team(dev):
    (provider,) = dev.of_type("pulumi:providers:aws")
    assert json.loads(provider.inputs["defaultTags"])["tags"] == {
        "project": "emr-platform", "stage": "dev", "managed-by": "emr-platform"
    }
    assert provider.inputs["region"] == "us-east-1"
    for app in dev.of_type("aws:emrserverless/application:Application"):
        assert app.inputs["tags"]["team"] == app.inputs["name"].removeprefix("emr-platform-dev-")


def test_serverless_applications_follow_config(dev, prod):
    config = load_config("prod")
    apps = {a.inputs["name"]: a.inputs for a in prod.of_type("aws:emrserverless/application:Application")}
    science = apps[naming.serverless_application(config, "data-science")]
    assert science["interactiveConfiguration"] == {"studioEnabled": True, "livyEndpointEnabled": True}
    sessions = [r for r in prod.of_type("pulumi-python:dynamic:Resource") if r.name.endswith("-sessions")]
    assert [r.name for r in sessions] == ["data-science-sessions"]  # interactive teams only
    assert sessions[0].inputs["session_enabled"] is True and sessions[0].inputs["region"] == "us-east-1"
    assert "interactiveConfiguration" not in apps[naming.serverless_application(config, "analytics")]
    assert science["releaseLabel"] == config.emr_serverless.release_label
    assert science["maximumCapacity"]["cpu"] == "256 vCPU"  # stages/prod.yml overrides config.yml's 64
    assert science["jobLevelCostAllocationConfiguration"] == {"enabled": True}
    assert science["autoStopConfiguration"] == {"enabled": True, "idleTimeoutMinutes": 15}
    warm = {c["initialCapacityType"]: c["initialCapacityConfig"] for c in science["initialCapacities"]}
    medium = config.job_sizes["medium"]
    assert warm["Executor"] == {
        "workerCount": 2,
        "workerConfiguration": {"cpu": f"{medium.executor_cores} vCPU", "memory": f"{medium.executor_memory_gb} GB"},
    }
    # dev keeps no warm workers (config.yml): nothing billed while idle.
    assert all("initialCapacities" not in a.inputs for a in dev.of_type("aws:emrserverless/application:Application"))


def _team_policy(synthesis, team: str) -> dict:
    policy = next(r for r in synthesis.of_type("aws:iam/rolePolicy:RolePolicy") if r.name == f"{team}-serverless-access")
    return json.loads(policy.inputs["policy"])


def test_team_role_reads_own_and_upstream_prefixes_and_writes_only_its_own(dev):
    statements = {s.get("Sid"): s for s in _team_policy(dev, "data-science")["Statement"]}
    assert set(statements["ReadLake"]["Resource"]) == {
        "arn:aws:s3:::emr-platform-dev-lake/data-science/*",
        "arn:aws:s3:::emr-platform-dev-lake/data-engineering/*",
        "arn:aws:s3:::emr-platform-dev-lake/landing/nycflights13/*",
    }
    assert statements["WriteOwnPrefix"]["Resource"] == [
        "arn:aws:s3:::emr-platform-dev-lake/data-science/*", "arn:aws:s3:::emr-platform-dev-logs/data-science/*"
    ]
    assert statements["DenyOtherTeamsWrite"]["Resource"] == [
        f"arn:aws:s3:::emr-platform-dev-{bucket}/{team}/*"
        for bucket in ("lake", "logs") for team in ("analytics", "data-engineering")
    ]
    glue = statements["ReadCatalog"]["Resource"]
    assert "arn:aws:glue:us-east-1:123456789012:database/emr_platform_dev_data_engineering" in glue
    assert not any("analytics" in arn for arn in glue)


def test_adding_a_team_to_config_alone_adds_its_resources(config_root: Path):
    data = yaml.safe_load((config_root / "config.yml").read_text())
    data["teams"]["marketing"] = {
        "owners": ["marketing@example.com"], "substrate": "emr-serverless", "job_size": "small",
        "budget_usd": 200, "upstream_teams": ["analytics"],
    }
    (config_root / "config.yml").write_text(yaml.safe_dump(data))
    config = load_config("dev", root=config_root)
    synthesis = synthesize("dev", root=config_root)
    assert _team_children(synthesis, "marketing") == TEAM_TYPES
    assert naming.serverless_execution_role(config, "marketing") in synthesis.names("aws:iam/role:Role")
    assert naming.serverless_application(config, "marketing") in synthesis.names("aws:emrserverless/application:Application")
    assert naming.glue_database(config, "marketing") in synthesis.names("aws:glue/catalogDatabase:CatalogDatabase")
    assert naming.budget(config, "marketing") in synthesis.names("aws:budgets/budget:Budget")
    assert naming.log_group(config, "marketing") in synthesis.names("aws:cloudwatch/logGroup:LogGroup")
    budget = next(b for b in synthesis.of_type("aws:budgets/budget:Budget") if b.inputs["name"].endswith("marketing"))
    assert budget.inputs["limitAmount"] == "200.00"
    assert budget.inputs["costFilters"] == [{"name": "TagKeyValue", "values": ["user:team$marketing"]}]
    # Every existing team is now denied writing marketing's prefix.
    deny = {s["Sid"]: s for s in _team_policy(synthesis, "data-engineering")["Statement"]}["DenyOtherTeamsWrite"]
    assert "arn:aws:s3:::emr-platform-dev-lake/marketing/*" in deny["Resource"]


def test_stack_region_must_match_platform_region():
    with pytest.raises(ConfigError, match=r"aws:region: expected us-east-1"):
        synthesize("dev", config={"aws:region": "eu-west-1"})


def test_prod_requires_the_database_password_secret():
    import pulumi

    with pytest.raises(pulumi.ConfigMissingError, match="dagsterDbPassword"):
        synthesize("prod", config={"emr-platform:dagsterDbPassword": None})
