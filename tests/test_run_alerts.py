"""The run failure alert sensor of a team location: a real failed run on local Spark, its alert
published to the team's SNS topic on moto (read back through a subscribed SQS queue) and, in
stage local, written under the Dagster home."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import dagster as dg

from emr_platform import naming
from assets.lib.sensors import run_failure_alert_sensor
from tests.conftest import local_config
from tests.emr.conftest import FAILING_SCRIPT, one_asset
from tests.partition_probe import DAILY


def _failed_run(instance, job, key):
    result = job.execute_in_process(
        instance=instance, asset_selection=[key], tags={"dagster/partition": "2013-01-07"}, raise_on_error=False
    )
    assert not result.success
    (failure,) = [e for e in result.all_events if e.event_type_value == "PIPELINE_FAILURE"]
    return instance.get_run_by_id(result.run_id), failure


def _evaluate(sensor, instance, run, failure) -> None:
    context = dg.build_run_status_sensor_context(
        sensor_name=sensor.name, dagster_instance=instance, dagster_run=run, dagster_event=failure
    ).for_run_failure()
    sensor(context)


def _queue_on_topic(topic: str) -> str:
    sns, sqs = boto3.client("sns"), boto3.client("sqs")
    topic_arn = sns.create_topic(Name=topic)["TopicArn"]
    queue_url = sqs.create_queue(QueueName="alerts-inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    return queue_url


def test_a_failed_run_is_published_to_the_team_topic_and_logged_locally(tmp_path, connect_state, aws):
    config = local_config(tmp_path / "lake", connect_state)
    job, key = one_asset(config, "analytics", tmp_path, FAILING_SCRIPT, partitions=DAILY, partition_column="day")
    sns_config = config.model_copy(update={"alerts": config.alerts.model_copy(update={"channel": "sns"})})
    queue_url = _queue_on_topic(naming.alert_topic(sns_config, "analytics"))

    with dg.instance_for_test() as instance:
        run, failure = _failed_run(instance, job, key)
        _evaluate(run_failure_alert_sensor(sns_config, "analytics"), instance, run, failure)
        _evaluate(run_failure_alert_sensor(config, "analytics"), instance, run, failure)
        logged = Path(instance.root_directory) / "alerts" / "analytics.jsonl"
        local = [json.loads(line) for line in logged.read_text().splitlines()]

    messages = boto3.client("sqs").receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=2)["Messages"]
    (envelope,) = [json.loads(m["Body"]) for m in messages]
    assert envelope["Subject"] == "local: analytics/probe/t [2013-01-07] failed"
    text = envelope["Message"]
    assert "Asset analytics/probe/t on local: job script exited with code 1" in text  # asset, substrate, reason
    assert "Partition: 2013-01-07" in text
    assert "column dep_delay is missing from the flights table" in text  # the driver log tail
    assert f"Run: http://127.0.0.1:3000/runs/{run.run_id}" in text

    (alert,) = local
    assert alert["partition"] == "2013-01-07" and alert["url"].endswith(f"/runs/{run.run_id}")
    assert alert["failures"][0]["asset"] == "analytics/probe/t" and alert["failures"][0]["substrate"] == "local"
    assert "column dep_delay is missing" in alert["failures"][0]["log_tail"]
