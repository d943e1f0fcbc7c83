"""A team's run failure alert topic: SNS, encrypted with the stage's KMS key, published to only
by the team's roles and the platform's (the run failure sensor runs in the team's code location
server, under the team's Dagster run role; see ``emr_platform/run_alerts.py``)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from emr_platform import naming
from emr_platform.config import PlatformConfig

PLATFORM_LOCATION = "platform"


@dataclass
class TeamAlertsArgs:
    topic_name: str
    """``naming.alert_topic``: where the launch side publishes."""
    kms_key_arn: pulumi.Input[str]
    account_id: pulumi.Input[str]
    publisher_roles: list[str]
    """Names of the IAM roles that may publish: the team's and the platform's."""

    @classmethod
    def for_team(cls, config: PlatformConfig, team: str, kms_key_arn, account_id) -> TeamAlertsArgs:
        roles = [
            naming.dagster_run_role(config, team),
            naming.serverless_execution_role(config, team),
            naming.instance_profile(config, team),
            naming.dagster_run_role(config, PLATFORM_LOCATION),
        ]
        return cls(naming.alert_topic(config, team), kms_key_arn, account_id, roles)


def publish_policy(topic_arn: str, account_id: str, role_arns: list[str]) -> dict:
    """Topic policy: the listed roles of the account may publish, every other principal may not."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "TeamAndPlatformPublish",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
                "Action": "SNS:Publish",
                "Resource": topic_arn,
                "Condition": {"ArnEquals": {"aws:PrincipalArn": role_arns}},
            },
            {
                "Sid": "NobodyElsePublishes",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "SNS:Publish",
                "Resource": topic_arn,
                "Condition": {"ArnNotEquals": {"aws:PrincipalArn": role_arns}},
            },
        ],
    }


class TeamAlerts(pulumi.ComponentResource):
    """The alert topic of one team (child resources named ``<name>-alerts``)."""

    topic_arn: pulumi.Output[str]

    def __init__(self, name: str, args: TeamAlertsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("emr-platform:alerts:TeamAlerts", name, None, opts)
        topic = self._topic(name, args)
        self._policy(name, args, topic)
        self.topic_arn = topic.arn
        self.register_outputs({"topic_arn": topic.arn})

    def _topic(self, name: str, args: TeamAlertsArgs) -> aws.sns.Topic:
        return aws.sns.Topic(
            f"{name}-alerts",
            name=args.topic_name,
            kms_master_key_id=args.kms_key_arn,
            tags={"team": name},
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _policy(self, name: str, args: TeamAlertsArgs, topic: aws.sns.Topic) -> None:
        role_arns = pulumi.Output.from_input(args.account_id).apply(
            lambda account: [f"arn:aws:iam::{account}:role/{role}" for role in args.publisher_roles]
        )
        policy = pulumi.Output.all(topic.arn, args.account_id, role_arns).apply(lambda a: publish_policy(*a))
        aws.sns.TopicPolicy(
            f"{name}-alerts-policy",
            arn=topic.arn,
            policy=pulumi.Output.json_dumps(policy),
            opts=pulumi.ResourceOptions(parent=self),
        )
