"""The stage's KMS key: encrypts buckets, log groups, secrets, topics, the Glue catalog and databases."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws


@dataclass
class EncryptionArgs:
    alias: str
    """KMS alias, ``alias/<platform>-<stage>``."""
    account_id: pulumi.Input[str]
    region: str


class Encryption(pulumi.ComponentResource):
    """A customer-managed KMS key with yearly rotation, usable by CloudWatch Logs and AWS Budgets' SNS.

    Key policy statements follow "Encrypt log data in CloudWatch Logs using AWS KMS"
    (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html) and
    "Configuring an Amazon SNS topic for budget notifications"
    (https://docs.aws.amazon.com/cost-management/latest/userguide/budgets-sns-policy.html).
    """

    key_arn: pulumi.Output[str]
    key_id: pulumi.Output[str]

    def __init__(self, name: str, args: EncryptionArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("emr-platform:encryption:Encryption", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        key_policy = pulumi.Output.json_dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        # Without this the key would be unmanageable (AWS's default key policy).
                        "Sid": "AccountAdministers",
                        "Effect": "Allow",
                        "Principal": {"AWS": pulumi.Output.concat("arn:aws:iam::", args.account_id, ":root")},
                        "Action": "kms:*",
                        "Resource": "*",
                    },
                    {
                        "Sid": "CloudWatchLogs",
                        "Effect": "Allow",
                        "Principal": {"Service": f"logs.{args.region}.amazonaws.com"},
                        "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*",
                                   "kms:Describe*"],
                        "Resource": "*",
                        "Condition": {
                            "ArnLike": {
                                "kms:EncryptionContext:aws:logs:arn": pulumi.Output.concat(
                                    "arn:aws:logs:", args.region, ":", args.account_id, ":*"
                                )
                            }
                        },
                    },
                    {
                        # Budget alerts are published to a KMS-encrypted SNS topic.
                        "Sid": "BudgetsPublish",
                        "Effect": "Allow",
                        "Principal": {"Service": "budgets.amazonaws.com"},
                        "Action": ["kms:GenerateDataKey*", "kms:Decrypt"],
                        "Resource": "*",
                    },
                ],
            }
        )
        key = aws.kms.Key(
            f"{name}-key",
            description=f"{args.alias}: data, logs and secrets of the EMR platform",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=key_policy,
            opts=child,
        )
        aws.kms.Alias(f"{name}-alias", name=args.alias, target_key_id=key.key_id, opts=child)
        self.key_arn = key.arn
        self.key_id = key.key_id
        self.register_outputs({"key_arn": key.arn, "key_id": key.key_id})
