"""A stage whose lake, artifacts and logs roots carry key prefixes (``s3://bucket/some/prefix``):
infra scopes IAM, Glue, EMR logs and the TLS material exactly where the launchers read and write."""

from __future__ import annotations

import json

import boto3
from pathlib import Path

from emr_platform.lake import prefixes
from infra.policies.rules import POLICIES
from resources import site_of
from resources.emr import launch
from tests.infra import key_prefixed as kp
from tests.infra.iam_eval import ALLOWED, DENIED, decide
from tests.infra.synth import evaluate, synthesize


def _policy(stack, name: str) -> dict:
    (policy,) = [p for p in stack.of_type("aws:iam/rolePolicy:RolePolicy") if p.name == name]
    return json.loads(policy.inputs["policy"])


def test_catalog_logs_and_tls_material_live_under_the_key_prefixes(key_prefixed):
    config, stack = key_prefixed
    databases = {d.inputs["tags"]["team"]: d.inputs["locationUri"] for d in stack.of_type("aws:glue/catalogDatabase:CatalogDatabase")}
    assert databases == {team: f"{kp.LAKE}/{team}/" for team in config.teams}
    for app in stack.of_type("aws:emrserverless/application:Application"):
        team = app.inputs["tags"]["team"]
        log_uri = app.inputs["monitoringConfiguration"]["s3MonitoringConfiguration"]["logUri"]
        assert log_uri == f"{kp.LOGS}/{team}/emr-serverless/" == launch.log_uri(site_of(config), team, "emr-serverless")
    (security,) = stack.of_type("aws:emr/securityConfiguration:SecurityConfiguration")
    tls = json.loads(security.inputs["configuration"])["EncryptionConfiguration"]["InTransitEncryptionConfiguration"]
    assert tls["TLSCertificateConfiguration"]["S3Object"] == f"{kp.ARTIFACTS}/emr-tls/certificates.zip"


def test_job_roles_reach_what_the_launchers_use_and_nothing_at_the_bucket_root(key_prefixed, tmp_path: Path, aws):
    config, stack = key_prefixed
    script = tmp_path / "job.py"
    script.write_text("print('hello')\n")
    s3 = boto3.client("s3")  # moto, served on 127.0.0.1 (fixture aws)
    s3.create_bucket(Bucket=prefixes.root(config.lake, "artifacts").bucket)
    for team in config.teams:
        policy = _policy(stack, f"{team}-serverless-access")
        lake = prefixes.team(config.lake, team, "lake")
        assert decide([policy], "s3:PutObject", f"{lake.bucket_arn()}/{lake.key}/flights/daily/part-0.parquet") == ALLOWED
        # The same relative key at the bucket root is not the team's.
        assert decide([policy], "s3:PutObject", f"arn:aws:s3:::{lake.bucket}/{team}/flights/daily/x") == DENIED
        messages = prefixes.pipes_messages(config.lake, team, "0123456789abcdef")
        bucket, key = messages.bucket, messages.key
        assert decide([policy], "s3:PutObject", f"arn:aws:s3:::{bucket}/{key}/1.json") == ALLOWED
        logs = prefixes.root(config.lake, "logs")
        assert decide([policy], "s3:ListBucket", logs.bucket_arn(), {"s3:prefix": f"{logs.key}/{team}/pipes/"}) == ALLOWED
        staged = launch.stage(s3, config.lake.artifacts_root, team, script)
        assert staged.uploaded
        for uri in (staged.script_uri, staged.py_files_uri):
            assert decide([policy], "s3:GetObject", "arn:aws:s3:::" + uri.removeprefix("s3://")) == ALLOWED, uri
        run = _policy(stack, f"emr-platform-prod-{team}-run-access")
        assert decide([run], "s3:PutObject", "arn:aws:s3:::" + staged.script_uri.removeprefix("s3://")) == ALLOWED
        source = kp.SOURCE.removeprefix("s3://")
        assert decide([policy], "s3:GetObject", f"arn:aws:s3:::{source}/flights.csv") == ALLOWED
        assert decide([policy], "s3:PutObject", f"arn:aws:s3:::{source}/flights.csv") == DENIED


def test_every_policy_passes_on_the_key_prefixed_stack(key_prefixed):
    config, stack = key_prefixed
    assert {p.name: evaluate(p, stack) for p in POLICIES if evaluate(p, stack)} == {}


def test_one_bucket_under_three_key_prefixes_is_declared_once_and_logs_expire_only_there(tmp_path: Path):
    root = kp.key_prefixed_root(tmp_path, lake="s3://emr-platform-prod-data/lake",
                                artifacts="s3://emr-platform-prod-data/artifacts", logs="s3://emr-platform-prod-data/logs")
    stack = synthesize("prod", root=root)
    assert stack.names("aws:s3/bucket:Bucket", "bucket") == {"emr-platform-prod-data"}
    (lifecycle,) = stack.of_type("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
    expiry = {r["id"]: r for r in lifecycle.inputs["rules"]}["expire-logs"]
    assert expiry["filter"] == {"prefix": "logs/"}  # the lake in the same bucket is kept
    parameters = {p.inputs["name"]: p.inputs["insecureValue"] for p in stack.of_type("aws:ssm/parameter:Parameter")}
    assert {parameters[f"/emr-platform/prod/buckets/{p}"] for p in ("lake", "artifacts", "logs")} == {"emr-platform-prod-data"}
    assert {p.name: evaluate(p, stack) for p in POLICIES if evaluate(p, stack)} == {}


def test_tls_material_and_compute_logs_follow_the_roots():
    from emr_platform.config import LakeSettings
    from emr_platform.lake.prefixes import S3Prefix

    keyed = LakeSettings(root="s3://l/w", artifacts_root="s3://a/x/", logs_root="s3://g/y/z")
    assert prefixes.tls_material(keyed) == S3Prefix("a", "x/emr-tls")
    assert prefixes.compute_logs(keyed, "analytics") == S3Prefix("g", "y/z/analytics/dagster/compute-logs")
    assert prefixes.team(keyed, prefixes.PLATFORM, "lake").object_arn() == "arn:aws:s3:::l/w/platform/*"
    bare = LakeSettings(root="s3://l", artifacts_root="s3://a", logs_root="s3://g")
    assert prefixes.tls_material(bare).child(prefixes.TLS_CERTIFICATES).uri == "s3://a/emr-tls/certificates.zip"
    assert prefixes.compute_logs(bare, "platform").object_arn() == "arn:aws:s3:::g/platform/dagster/compute-logs/*"
