"""Both sides of the contract: what the synthesized program declares, created in moto (a real
HTTP server on 127.0.0.1), is found by the launchers' lookups (``resources/emr/``) with real boto3 calls."""

from __future__ import annotations


import boto3
import pytest

from emr_platform import naming
from emr_platform.config import load_config
from resources.emr.classic import instance_profile_name
from resources.emr.launch import DiscoveryError, team_parameter
from resources.emr.serverless import execution_role_arn, serverless_application_id


def _apply(synthesis, *, applications=True, roles=True, parameters=True) -> dict[str, str]:
    """Create in moto what the synthesized stack declares (a tiny `pulumi up`); returns application IDs by name."""
    ids = {}
    if applications:
        client = boto3.client("emr-serverless")
        for app in synthesis.of_type("aws:emrserverless/application:Application"):
            ids[app.inputs["name"]] = client.create_application(
                name=app.inputs["name"], releaseLabel=app.inputs["releaseLabel"],
                # moto accepts only the upper-case spelling; AWS takes either.
                type=app.inputs["type"].upper(),
            )["applicationId"]
    iam = boto3.client("iam")
    if roles:
        for role in synthesis.of_type("aws:iam/role:Role"):
            iam.create_role(RoleName=role.inputs["name"], AssumeRolePolicyDocument=role.inputs["assumeRolePolicy"])
        for profile in synthesis.of_type("aws:iam/instanceProfile:InstanceProfile"):
            iam.create_instance_profile(InstanceProfileName=profile.inputs["name"])
    if parameters:
        ssm = boto3.client("ssm")
        for parameter in synthesis.of_type("aws:ssm/parameter:Parameter"):
            ssm.put_parameter(Name=parameter.inputs["name"], Value=parameter.inputs["insecureValue"], Type="String")
    return ids


def test_launchers_find_applications_roles_and_profiles_by_name(aws, dev):
    config = load_config("dev")
    ids = _apply(dev, parameters=False)
    for team in config.teams:
        assert serverless_application_id(config, team) == ids[naming.serverless_application(config, team)]
        assert execution_role_arn(config, team) == (
            f"arn:aws:iam::123456789012:role/{naming.serverless_execution_role(config, team)}"
        )
        assert instance_profile_name(config, team) == naming.instance_profile(config, team)
    assert {purpose: naming.bucket(config, purpose) for purpose in ("lake", "artifacts", "logs")} == {
        "lake": "emr-platform-dev-lake", "artifacts": "emr-platform-dev-artifacts", "logs": "emr-platform-dev-logs"
    }


def test_published_ssm_parameters_are_the_fallback(aws, dev):
    config = load_config("dev")
    _apply(dev, applications=False, roles=False)
    # Values are what the stack published (mock IDs/ARNs of the synthesized resources).
    assert serverless_application_id(config, "analytics") == "emr-platform-dev-analytics"
    assert execution_role_arn(config, "analytics").endswith("role/emr-platform-dev-analytics-serverless")
    assert team_parameter(config, "data-science", "glue-database") == "emr_platform_dev_data_science"


def test_missing_infra_is_a_clear_error(aws):
    config = load_config("dev")
    with pytest.raises(DiscoveryError, match=r"no usable EMR Serverless application named emr-platform-dev-analytics.*"
                       r"/emr-platform/dev/teams/analytics/application-id not found"):
        serverless_application_id(config, "analytics")
    with pytest.raises(DiscoveryError, match="no IAM role named emr-platform-dev-analytics-serverless"):
        execution_role_arn(config, "analytics")
    with pytest.raises(DiscoveryError, match="no IAM instance profile named emr-platform-dev-analytics-ec2"):
        instance_profile_name(config, "analytics")


def test_a_stopped_application_of_another_stage_is_not_taken(aws):
    config = load_config("dev")
    client = boto3.client("emr-serverless")
    client.create_application(name="emr-platform-prod-analytics", releaseLabel=config.emr_serverless.release_label, type="SPARK")
    doomed = client.create_application(name="emr-platform-dev-analytics", releaseLabel=config.emr_serverless.release_label, type="SPARK")
    client.stop_application(applicationId=doomed["applicationId"])
    client.delete_application(applicationId=doomed["applicationId"])
    with pytest.raises(DiscoveryError):
        serverless_application_id(config, "analytics")
