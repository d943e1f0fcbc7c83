"""Each team's run failure alert topic: encrypted with the stage key, published to only by the
team's roles and the platform's."""

from __future__ import annotations

import json

from emr_platform import naming
from emr_platform.config import load_config
from infra.components.alerts import publish_policy


def test_each_team_has_an_encrypted_alert_topic_named_as_the_sensor_publishes(dev):
    config = load_config("dev")
    topics = {t.inputs["name"]: t.inputs for t in dev.of_type("aws:sns/topic:Topic")}
    for team in config.teams:
        topic = topics[naming.alert_topic(config, team)]
        assert topic["kmsMasterKeyId"], team
    assert set(dev.outputs["teams"]) == set(config.teams)
    assert all(t["alert_topic_arn"] for t in dev.outputs["teams"].values())


def test_only_the_teams_roles_and_the_platform_may_publish(dev):
    config = load_config("dev")
    policies = [json.loads(p.inputs["policy"]) for p in dev.of_type("aws:sns/topicPolicy:TopicPolicy")]
    by_topic = {p["Statement"][0]["Resource"]: p for p in policies}
    analytics = next(p for arn, p in by_topic.items() if arn.endswith(naming.alert_topic(config, "analytics")))
    allow, deny = analytics["Statement"]
    roles = allow["Condition"]["ArnEquals"]["aws:PrincipalArn"]
    assert {r.rsplit("/", 1)[1] for r in roles} == {
        naming.dagster_run_role(config, "analytics"),
        naming.serverless_execution_role(config, "analytics"),
        naming.instance_profile(config, "analytics"),
        naming.dagster_run_role(config, "platform"),
    }
    assert not any("data-engineering" in r for r in roles)
    assert (deny["Effect"], deny["Principal"], deny["Condition"]["ArnNotEquals"]["aws:PrincipalArn"]) == ("Deny", "*", roles)


def test_the_publish_policy_denies_every_other_principal():
    policy = publish_policy("arn:aws:sns:us-east-1:1:t", "1", ["arn:aws:iam::1:role/a"])
    assert [s["Effect"] for s in policy["Statement"]] == ["Allow", "Deny"]
