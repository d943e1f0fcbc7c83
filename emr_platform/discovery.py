"""Run-time lookup of what ``infra/`` built, so launchers never need pasted IDs or ARNs.

Infra names every resource with :mod:`emr_platform.naming` and also publishes the IDs
as SSM parameters (``naming.ssm_parameter(config, "teams", team, key)``, keys in
``naming.TEAM_PARAMETERS``). These functions look resources up by name first and fall
back to the parameters. Clients are built inside each call (boto3's credential chain;
``AWS_ENDPOINT_URL`` is honoured), or passed in.
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.exceptions import ClientError

from emr_platform import naming
from emr_platform.naming import StageLike
from emr_platform.substrates.emr_serverless import USABLE_APPLICATION_STATES



class DiscoveryError(LookupError):
    """What infra should have created cannot be found; the message names what was looked for."""


def _client(service: str, config: StageLike, client: Any | None) -> Any:
    return client if client is not None else boto3.client(service, region_name=config.platform.region)


def team_parameter(config: StageLike, team: str, key: str, ssm: Any | None = None) -> str:
    """Value of the SSM parameter infra published for ``team`` under ``key`` (one of ``naming.TEAM_PARAMETERS``).

    Raises ``DiscoveryError`` if the parameter does not exist.
    """
    name = naming.ssm_parameter(config, "teams", team, key)
    try:
        return _client("ssm", config, ssm).get_parameter(Name=name)["Parameter"]["Value"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ParameterNotFound":
            raise DiscoveryError(f"SSM parameter {name} not found (has `pulumi up --stack {config.stage}` run?)") from None
        raise


def serverless_application_id(
    config: StageLike, team: str, emr_serverless: Any | None = None, ssm: Any | None = None
) -> str:
    """ID of the team's EMR Serverless application, found by its name, else by its SSM parameter.

    Raises ``DiscoveryError`` if neither exists.
    """
    name = naming.serverless_application(config, team)
    client = _client("emr-serverless", config, emr_serverless)
    for page in client.get_paginator("list_applications").paginate():
        for application in page["applications"]:
            if application["name"] == name and application["state"] in USABLE_APPLICATION_STATES:
                return application["id"]
    try:
        return team_parameter(config, team, "application-id", ssm)
    except DiscoveryError as exc:
        raise DiscoveryError(f"no usable EMR Serverless application named {name}, and {exc}") from None


def execution_role_arn(config: StageLike, team: str, iam: Any | None = None, ssm: Any | None = None) -> str:
    """ARN of the IAM role the team's EMR Serverless job runs assume (``iam get-role`` by name, else SSM)."""
    name = naming.serverless_execution_role(config, team)
    try:
        return _client("iam", config, iam).get_role(RoleName=name)["Role"]["Arn"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "NoSuchEntity":
            raise
    try:
        return team_parameter(config, team, "execution-role-arn", ssm)
    except DiscoveryError as exc:
        raise DiscoveryError(f"no IAM role named {name}, and {exc}") from None


def instance_profile_name(config: StageLike, team: str, iam: Any | None = None) -> str:
    """Name of the team's EMR Classic instance profile, checked to exist; raises ``DiscoveryError`` if not."""
    name = naming.instance_profile(config, team)
    try:
        _client("iam", config, iam).get_instance_profile(InstanceProfileName=name)
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "NoSuchEntity":
            raise DiscoveryError(f"no IAM instance profile named {name}") from None
        raise
    return name

