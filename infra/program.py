"""Composition of the stack: one provider with the platform's default tags, then the components.

``__main__.py`` loads the stage's config with the platform's loader and hands it to ``main``;
the tests do the same under Pulumi's mocks, also with edited copies of the config.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from emr_platform import naming, tags
from emr_platform.lake import prefixes
from emr_platform.config import STAGES_DIR, ConfigError, PlatformConfig
from infra.components.alerts import TeamAlerts, TeamAlertsArgs
from infra.components.dagster_deployment import DagsterDeployment, DagsterDeploymentArgs
from infra.components.encryption import Encryption, EncryptionArgs
from infra.components.platform_wide import PlatformWide, PlatformWideArgs
from infra.components.storage import Storage, StorageArgs
from infra.components.team import Team, TeamArgs

DB_PASSWORD_CONFIG_KEY = "dagsterDbPassword"


def default_tags(config: PlatformConfig) -> dict[str, str]:
    """Tags the provider puts on every taggable resource; team resources add ``team``."""
    managed_by_key, managed_by = tags.MANAGED_BY
    return {"project": config.platform.name, "stage": config.stage, managed_by_key: managed_by}


def build(config: PlatformConfig, db_password: pulumi.Input[str] | None = None) -> dict[str, pulumi.Output]:
    """Declare every resource of ``config.stage``; returns the stack outputs.

    Raises ``ConfigError`` when the stage has no S3 lake (stage ``local`` has no AWS account)
    or the deployment is enabled without a database password.
    """
    if not config.lake.is_s3:
        raise ConfigError(
            [f"{STAGES_DIR}/{config.stage}.yml: lake.root: expected an s3:// URI for a Pulumi stack, "
             f"got {config.lake.root!r}"]
        )
    if config.deployment.enabled and db_password is None:
        raise ConfigError(
            [f"Pulumi.{config.stage}.yaml: {DB_PASSWORD_CONFIG_KEY}: expected a secret (pulumi config set --secret)"]
        )
    provider = aws.Provider(
        "aws", region=config.platform.region, default_tags={"tags": default_tags(config)}
    )
    opts = pulumi.ResourceOptions(providers=[provider])
    account_id = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(provider=provider)).account_id
    region = config.platform.region
    prefix = naming.prefix(config)

    key = Encryption(prefix, EncryptionArgs(naming.kms_alias(config), account_id, region), opts)
    storage = Storage(
        prefix,
        StorageArgs(
            {purpose: prefixes.root(config.lake, purpose) for purpose in prefixes.PURPOSES},
            key.key_arn,
            parameter_prefix=naming.ssm_parameter(config, "buckets"),
        ),
        opts,
    )
    platform = PlatformWide(
        prefix,
        PlatformWideArgs(
            service_role_name=naming.emr_service_role(config),
            security_configuration_name=naming.security_configuration(config),
            budget_topic_name=naming.budget_topic(config),
            db_secret_name=naming.db_password_secret(config),
            cost_tags=tags.COST_TAGS,
            kms_key_arn=key.key_arn,
            account_id=account_id,
            tls_certificates_uri=prefixes.tls_material(config.lake).child(prefixes.TLS_CERTIFICATES).uri,
            db_password=db_password,
        ),
        opts,
    )
    teams = {
        name: Team(name, TeamArgs(config, key.key_arn, account_id, platform.budget_topic_arn), opts)
        for name in config.teams
    }
    alerts = {name: TeamAlerts(name, TeamAlertsArgs.for_team(config, name, key.key_arn, account_id), opts) for name in config.teams}
    outputs: dict[str, pulumi.Output] = {
        "kms_key_arn": key.key_arn,
        "buckets": storage.bucket_names,
        "emr_service_role_arn": platform.service_role_arn,
        "budget_topic_arn": platform.budget_topic_arn,
        "teams": {
            name: {"application_id": t.application_id, "execution_role_arn": t.execution_role_arn,
                   "alert_topic_arn": alerts[name].topic_arn}
            for name, t in teams.items()
        },
    }
    if config.deployment.enabled:
        deployment = DagsterDeployment(
            prefix,
            DagsterDeploymentArgs(
                config=config,
                account_id=account_id,
                kms_key_arn=key.key_arn,
                db_secret_arn=platform.db_secret_arn,
                db_password=db_password,
                teams={n: (t.application_arn, t.execution_role_arn, t.instance_profile_role_arn) for n, t in teams.items()},
                service_role_arn=platform.service_role_arn,
            ),
            opts,
        )
        outputs["dagster_url"] = deployment.url
    return outputs


def main(config: PlatformConfig) -> dict[str, pulumi.Output]:
    """Check the stack's settings against ``config``, build, export the outputs.

    Raises ``ConfigError`` if the stack's ``aws:region`` differs from ``platform.region``, and
    ``pulumi.ConfigMissingError`` if the deployment is enabled without the database password.
    """
    stack_region = pulumi.Config("aws").get("region")
    if stack_region and stack_region != config.platform.region:
        raise ConfigError(
            [f"Pulumi.{config.stage}.yaml: aws:region: expected {config.platform.region} (platform.region), "
             f"got {stack_region!r}"]
        )
    password = pulumi.Config().require_secret(DB_PASSWORD_CONFIG_KEY) if config.deployment.enabled else None
    outputs = build(config, db_password=password)
    for name, value in outputs.items():
        pulumi.export(name, value)
    return outputs
