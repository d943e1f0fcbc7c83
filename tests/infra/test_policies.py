"""The policy pack (infra/policies) on the synthesized stacks: all pass, and each catches a broken resource."""

from __future__ import annotations

import copy
import json

import pytest
from pulumi_policy import PolicyProviderResource, PolicyResource

from infra.policies.rules import POLICIES
from tests.infra.synth import evaluate

BY_NAME = {policy.name: policy for policy in POLICIES}


@pytest.mark.parametrize("policy", POLICIES, ids=lambda p: p.name)
@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_every_policy_passes(stage, policy, request):
    assert evaluate(policy, request.getfixturevalue(stage)) == []


def _broken(resources: list[PolicyResource], resource_type: str, change, name: str | None = None) -> list[PolicyResource]:
    """A copy of ``resources`` with ``change`` applied to the props of the first ``resource_type`` (named ``name``)."""
    out, done = [], False
    for r in resources:
        if not done and r.resource_type == resource_type and (name is None or r.name == name):
            props = copy.deepcopy(dict(r.props))
            result = change(props)
            if result == "drop":
                done = True
                continue
            r = PolicyResource(r.resource_type, props, r.urn, r.name, r.opts, r.provider, r.parent, [], {})
            done = True
        out.append(r)
    assert done, f"no {resource_type} to break"
    return out


def _set(key, value):
    def change(props):
        props[key] = value
    return change


def _without(key):
    def change(props):
        props.pop(key, None)
    return change


def _policy_adding(statement):
    def change(props):
        doc = json.loads(props["policy"])
        doc["Statement"].append(statement)
        props["policy"] = json.dumps(doc)
    return change


def _policy_without(sid):
    def change(props):
        doc = json.loads(props["policy"])
        doc["Statement"] = [s for s in doc["Statement"] if s.get("Sid") != sid]
        props["policy"] = json.dumps(doc)
    return change


def _no_default_tags(props):
    props["defaultTags"] = json.dumps({"tags": {"project": "emr-platform"}})


def _sse_aes(props):
    props["rules"][0]["applyServerSideEncryptionByDefault"] = {"sseAlgorithm": "AES256"}


BROKEN = [
    ("encryption-everywhere", "aws:cloudwatch/logGroup:LogGroup", _without("kmsKeyId"), None),
    ("encryption-everywhere", "aws:kms/key:Key", _set("enableKeyRotation", False), None),
    ("encryption-everywhere", "aws:rds/instance:Instance", _set("storageEncrypted", False), None),
    ("encryption-everywhere", "aws:lb/listener:Listener", _set("defaultActions", [{"type": "forward"}]),
     "emr-platform-prod-entry-http"),
    ("encryption-everywhere", "aws:emrserverless/application:Application", _without("monitoringConfiguration"), None),
    ("buckets-encrypted", "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
     lambda props: "drop", None),
    ("buckets-encrypted", "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
     _sse_aes, None),
    ("nothing-public", "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", _set("blockPublicPolicy", False), None),
    ("nothing-public", "aws:s3/bucket:Bucket", _set("acl", "public-read"), None),
    ("nothing-public", "aws:rds/instance:Instance", _set("publiclyAccessible", True), None),
    ("log-retention-90-days", "aws:cloudwatch/logGroup:LogGroup", _set("retentionInDays", 30), None),
    ("log-retention-90-days", "aws:cloudwatch/logGroup:LogGroup", _without("retentionInDays"), None),
    ("no-star-on-star", "aws:iam/rolePolicy:RolePolicy",
     _policy_adding({"Effect": "Allow", "Action": "*", "Resource": "*"}), None),
    ("team-write-isolation", "aws:iam/rolePolicy:RolePolicy", _policy_without("DenyOtherTeamsWrite"),
     "analytics-serverless-access"),
    ("team-write-isolation", "aws:iam/rolePolicy:RolePolicy",
     _policy_adding({"Effect": "Allow", "Action": ["s3:PutObject"],
                     "Resource": ["arn:aws:s3:::emr-platform-prod-lake/data-engineering/*"]}),
     "analytics-ec2-access"),
    ("team-emr-scope", "aws:iam/rolePolicy:RolePolicy",
     _policy_adding({"Effect": "Allow", "Action": ["elasticmapreduce:AddJobFlowSteps"],
                     "Resource": ["arn:aws:elasticmapreduce:us-east-1:123456789012:cluster/*"]}),
     "emr-platform-prod-analytics-run-access"),
    ("team-emr-scope", "aws:iam/rolePolicy:RolePolicy",
     _policy_adding({"Effect": "Allow", "Action": ["emr-serverless:StartJobRun"],
                     "Resource": ["arn:aws:emr-serverless:us-east-1:123456789012:/applications/*"],
                     "Condition": {"StringEquals": {"aws:RequestTag/team": "analytics"}}}),
     "emr-platform-prod-analytics-run-access"),
    ("resources-tagged", "pulumi:providers:aws", _no_default_tags, None),
    ("resources-tagged", "aws:glue/catalogDatabase:CatalogDatabase", _without("tags"), None),
    ("unique-names", "aws:s3/bucket:Bucket", _set("bucket", "emr-platform-prod-logs"), "emr-platform-prod-lake"),
]


@pytest.mark.parametrize(
    "policy_name, resource_type, change, name", BROKEN, ids=[f"{b[0]}:{b[1].split(':')[-1]}" for b in BROKEN]
)
def test_each_policy_catches_a_broken_resource(prod, policy_name, resource_type, change, name):
    policy = BY_NAME[policy_name]
    resources = prod.policy_resources()
    assert evaluate(policy, prod, resources) == []
    broken = _broken(resources, resource_type, change, name)
    if resource_type.startswith("pulumi:providers:"):
        # Every resource holds its own view of its provider: hand them the broken one.
        bad = next(r for r in broken if r.resource_type == resource_type)
        view = PolicyProviderResource(bad.resource_type, bad.props, bad.urn, bad.name)
        broken = [
            PolicyResource(r.resource_type, r.props, r.urn, r.name, r.opts, view if r.provider else None, r.parent, [], {})
            for r in broken
        ]
    assert evaluate(policy, prod, broken), f"{policy_name} missed a broken {resource_type}"


def test_every_policy_has_a_broken_case():
    assert {b[0] for b in BROKEN} == set(BY_NAME)


def test_the_pack_entry_point_lists_every_policy():
    import ast
    from pathlib import Path

    source = (Path(__file__).resolve().parents[2] / "infra" / "policies" / "__main__.py").read_text()
    assert "POLICIES" in {n.id for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Name)}
