"""What a stage has once, whatever its teams: EMR service role and security configuration,
cost allocation tags, the budget alert topic, Glue catalog encryption and Dagster's database secret."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.documents import assume_role

# The v2 managed policy only acts on resources tagged for-use-with-amazon-emr-managed-policies=true
# (https://docs.aws.amazon.com/emr/latest/ManagementGuide/emr-iam-role.html); launchers tag clusters so.
EMR_SERVICE_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonEMRServicePolicy_v2"


@dataclass
class PlatformWideArgs:
    service_role_name: str
    security_configuration_name: str
    budget_topic_name: str
    db_secret_name: str
    cost_tags: tuple[str, ...]
    kms_key_arn: pulumi.Input[str]
    account_id: pulumi.Input[str]
    tls_certificates_uri: str
    """``s3://`` URI of the zip of PEM files EMR Classic uses for in-transit TLS (uploaded by an operator)."""
    db_password: pulumi.Input[str] | None = None
    """Dagster's database password (a Pulumi secret); the secret gets no value without it."""


def security_configuration(kms_key_arn: str, tls_certificates_uri: str) -> str:
    """EMR security configuration JSON: SSE-KMS for EMRFS, KMS-encrypted local and EBS disks, TLS in transit.

    Format: https://docs.aws.amazon.com/emr/latest/ManagementGuide/emr-create-security-configuration.html
    """
    return json.dumps(
        {
            "EncryptionConfiguration": {
                "EnableAtRestEncryption": True,
                "EnableInTransitEncryption": True,
                "AtRestEncryptionConfiguration": {
                    "S3EncryptionConfiguration": {"EncryptionMode": "SSE-KMS", "AwsKmsKey": kms_key_arn},
                    "LocalDiskEncryptionConfiguration": {
                        "EncryptionKeyProviderType": "AwsKms",
                        "AwsKmsKey": kms_key_arn,
                        "EnableEbsEncryption": True,
                    },
                },
                "InTransitEncryptionConfiguration": {
                    "TLSCertificateConfiguration": {"CertificateProviderType": "PEM", "S3Object": tls_certificates_uri}
                },
            }
        },
        sort_keys=True,
    )


class PlatformWide(pulumi.ComponentResource):
    """Stage-wide resources; outputs the service role, security configuration, topic and secret."""

    service_role_arn: pulumi.Output[str]
    budget_topic_arn: pulumi.Output[str]
    db_secret_arn: pulumi.Output[str]

    def __init__(self, name: str, args: PlatformWideArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("emr-platform:platform_wide:PlatformWide", name, None, opts)
        self._name, self._args, self._child = name, args, pulumi.ResourceOptions(parent=self)
        service_role, security = self._emr()
        self._cost_tags()
        topic = self._budget_topic()
        aws.glue.DataCatalogEncryptionSettings(
            f"{name}-glue-encryption",
            data_catalog_encryption_settings={
                "encryption_at_rest": {"catalog_encryption_mode": "SSE-KMS", "sse_aws_kms_key_id": args.kms_key_arn},
                "connection_password_encryption": {
                    "return_connection_password_encrypted": True,
                    "aws_kms_key_id": args.kms_key_arn,
                },
            },
            opts=self._child,
        )
        secret = self._db_secret()
        self.service_role_arn = service_role.arn
        self.service_role_name = service_role.name
        self.security_configuration_name = security.name
        self.budget_topic_arn = topic.arn
        self.db_secret_arn = secret.arn
        self.register_outputs(
            {
                "service_role_arn": service_role.arn,
                "security_configuration": security.name,
                "budget_topic_arn": topic.arn,
                "db_secret_arn": secret.arn,
            }
        )

    def _emr(self) -> tuple[aws.iam.Role, aws.emr.SecurityConfiguration]:
        """EMR Classic's service role (AWS's v2 managed policy) and its security configuration."""
        name, args, child = self._name, self._args, self._child
        service_role = aws.iam.Role(
            f"{name}-emr-service",
            name=args.service_role_name,
            assume_role_policy=pulumi.Output.json_dumps(assume_role("elasticmapreduce.amazonaws.com", args.account_id)),
            opts=child,
        )
        aws.iam.RolePolicyAttachment(
            f"{name}-emr-service-policy", role=service_role.name, policy_arn=EMR_SERVICE_POLICY, opts=child
        )
        security = aws.emr.SecurityConfiguration(
            f"{name}-emr-security",
            name=args.security_configuration_name,
            configuration=pulumi.Output.from_input(args.kms_key_arn).apply(
                lambda arn: security_configuration(arn, args.tls_certificates_uri)
            ),
            opts=child,
        )
        return service_role, security

    def _cost_tags(self) -> None:
        for tag in self._args.cost_tags:
            # Activation fails until AWS has seen the tag key on a resource (up to 24 h):
            # https://docs.aws.amazon.com/awsaccountbilling/latest/aboutv2/activating-tags.html
            aws.costexplorer.CostAllocationTag(f"{self._name}-cost-tag-{tag}", tag_key=tag, status="Active",
                                               opts=self._child)

    def _budget_topic(self) -> aws.sns.Topic:
        """The KMS-encrypted SNS topic AWS Budgets (of this account only) publishes alerts to."""
        name, args, child = self._name, self._args, self._child
        topic = aws.sns.Topic(f"{name}-budget-alerts", name=args.budget_topic_name, kms_master_key_id=args.kms_key_arn,
                              opts=child)
        aws.sns.TopicPolicy(
            f"{name}-budget-alerts-policy",
            arn=topic.arn,
            policy=pulumi.Output.json_dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "BudgetsPublish",
                            "Effect": "Allow",
                            "Principal": {"Service": "budgets.amazonaws.com"},
                            "Action": "SNS:Publish",
                            "Resource": topic.arn,
                            "Condition": {"StringEquals": {"aws:SourceAccount": args.account_id}},
                        }
                    ],
                }
            ),
            opts=child,
        )
        return topic

    def _db_secret(self) -> aws.secretsmanager.Secret:
        """The secret of Dagster's database password, with its value when one is given."""
        name, args, child = self._name, self._args, self._child
        secret = aws.secretsmanager.Secret(
            f"{name}-dagster-db-password",
            name=args.db_secret_name,
            description="Password of the Dagster deployment's Postgres database",
            kms_key_id=args.kms_key_arn,
            opts=child,
        )
        if args.db_password is not None:
            aws.secretsmanager.SecretVersion(
                f"{name}-dagster-db-password-value", secret_id=secret.id, secret_string=args.db_password, opts=child
            )
        return secret
