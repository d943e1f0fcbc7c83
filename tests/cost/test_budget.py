"""Budget thresholds: pure crossings, and the budget sensor at 79%, 80% and 100% with SNS on moto."""

from __future__ import annotations

import json

import boto3
import dagster as dg

from assets.platform_cost import platform_definitions
from emr_platform.cost.budget import crossings
from tests.cost.conftest import stage_config


def test_each_threshold_fires_once_per_team_and_month():
    budgets, thresholds = {"a": 100.0, "b": 50.0}, [0.8, 1.0]
    alerts, cursor = crossings({"a": 79.0, "b": 0.0}, budgets, thresholds, "2026-11", None)
    assert alerts == []
    alerts, cursor = crossings({"a": 80.0}, budgets, thresholds, "2026-11", cursor)
    assert [(a.team, a.threshold) for a in alerts] == [("a", 0.8)]
    alerts, cursor = crossings({"a": 85.0}, budgets, thresholds, "2026-11", cursor)
    assert alerts == []
    alerts, cursor = crossings({"a": 100.0, "b": 60.0}, budgets, thresholds, "2026-11", cursor)
    assert [(a.team, a.threshold) for a in alerts] == [("a", 1.0), ("b", 0.8), ("b", 1.0)]
    alerts, _ = crossings({"a": 100.0}, budgets, thresholds, "2026-12", cursor)
    assert [(a.team, a.threshold) for a in alerts] == [("a", 0.8), ("a", 1.0)]


def _spend(instance: dg.DagsterInstance, team: str, usd: float) -> None:
    """Record a Spark materialization of ``team`` costing ``usd``, as the launchers do."""
    key = dg.AssetKey([team, "core", "table"])
    instance.report_runless_asset_event(dg.AssetMaterialization(key, metadata={"cost_usd": usd, "substrate": "emr-serverless"}))


def test_budget_sensor_fires_at_80_and_100_percent_once_and_publishes(aws, tmp_path):
    sns, sqs = boto3.client("sns"), boto3.client("sqs")
    topic = sns.create_topic(Name="cost-alerts")["TopicArn"]
    queue = sqs.create_queue(QueueName="alerts")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})
    config = stage_config("dev", tmp_path / "lake", sns_topic="cost-alerts")
    sensor = platform_definitions(config).resolve_sensor_def("cost_budget_sensor")
    budget = config.teams["analytics"].budget_usd
    instance = dg.DagsterInstance.ephemeral()
    cursor = None

    def tick() -> list[dg.RunRequest]:
        nonlocal cursor
        result = sensor.evaluate_tick(dg.build_sensor_context(instance=instance, cursor=cursor))
        cursor = result.cursor
        return result.run_requests

    def messages() -> list[str]:
        found = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
        return [m["Body"] for m in found]

    _spend(instance, "analytics", 0.79 * budget)
    assert tick() == [] and messages() == []
    _spend(instance, "analytics", 0.01 * budget)  # 80%
    requests = tick()
    assert len(requests) == 1 and requests[0].asset_selection == [dg.AssetKey(["platform", "cost", "team_cost_report"])]
    assert [m.split(" (")[1] for m in messages()] == ["80%, threshold 80%)"]
    assert tick() == [] and messages() == []  # still 80%: fired already
    _spend(instance, "analytics", 0.20 * budget)  # 100%
    assert len(tick()) == 1
    assert [m.split(" (")[1] for m in messages()] == ["100%, threshold 100%)"]
    assert tick() == [] and messages() == []
    assert json.loads(cursor)["fired"] == {"analytics": [0.8, 1.0]}
