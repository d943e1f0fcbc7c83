"""Budget alerts to an SNS topic named in config (``cost.sns_topic``)."""

from __future__ import annotations

import boto3

from emr_platform.cost.budget import Alert


def topic_arn(topic: str, region: str) -> str:
    """``arn:aws:sns:<region>:<account>:<topic>``, the account from STS (the caller's credentials)."""
    account = boto3.client("sts", region_name=region).get_caller_identity()["Account"]
    return f"arn:aws:sns:{region}:{account}:{topic}"


def publish(alerts: list[Alert], topic: str, region: str) -> list[str]:
    """Publish one message per alert; returns the SNS message ids."""
    if not alerts:
        return []
    client, arn = boto3.client("sns", region_name=region), topic_arn(topic, region)
    return [
        client.publish(
            TopicArn=arn,
            Subject=f"Budget {alert.threshold:.0%} reached: {alert.team}"[:100],
            Message=alert.message,
            MessageAttributes={"team": {"DataType": "String", "StringValue": alert.team}},
        )["MessageId"]
        for alert in alerts
    ]
