"""A job runs under its team's role, and moto enforces that role's policy (synthesized by infra/):
a job of one team that writes another team's lake prefix fails with one AccessDenied line naming
the URI, and nothing of it is left in S3 or running.

moto authenticates every request once its authentication switch is on (``/moto-api/reset-auth``)
and judges S3 object requests against the caller's identity policies, ignoring their
``Condition`` (tests/infra/test_iam_matrix.py). The test's own calls (Dagster's launcher, the
simulator playing EMR) sign with an administrator's keys; each driver's boto3 and its Spark's S3A
sign with the credentials of the role it runs as, assumed in moto's STS.
"""

from __future__ import annotations

import contextlib
import json
import time
import urllib.request

import boto3
import pytest

from emr_platform import lake
from emr_platform.lake.prefixes import S3Prefix
from tests.emr.conftest import build_infra, dev_config, failure_description, one_asset
from tests.emr.harness import EMR_SERVICE_USER, EmrSimulator
from tests.infra.synth import synthesize

TRESPASS = '''import jobkit


def transform(spark, inputs, params):
    stolen = spark.range(3).withColumnRenamed("id", "n")
    stolen.write.mode("overwrite").parquet(params["target"])
    return stolen


jobkit.run(transform)
'''


@pytest.fixture(scope="module")
def dev_policies() -> dict[str, str]:
    """The inline access policy of every role infra/ synthesizes for stage dev, by role name."""
    return synthesize("dev").role_policies()


@pytest.fixture
def admin(aws: str, monkeypatch) -> dict[str, str]:
    """Administrator keys (an IAM user allowed everything: EMR's own, which the roles trust) for
    the test's own calls."""
    iam = boto3.client("iam")
    iam.create_user(UserName=EMR_SERVICE_USER)
    iam.put_user_policy(UserName=EMR_SERVICE_USER, PolicyName="all", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
    key = iam.create_access_key(UserName=EMR_SERVICE_USER)["AccessKey"]
    admin = {"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]}
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", admin["aws_access_key_id"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", admin["aws_secret_access_key"])
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)  # boto3.client() keeps the keys it first read
    return admin


@contextlib.contextmanager
def enforcing(endpoint: str):
    """moto authenticating and authorising every request, until the block ends."""
    _switch_auth(endpoint, "0")
    try:
        yield
    finally:
        _switch_auth(endpoint, "inf")


def _switch_auth(endpoint: str, unauthenticated_calls: str) -> None:
    # A plain-text body: a form-encoded one is parsed away before moto reads it.
    request = urllib.request.Request(f"{endpoint}/moto-api/reset-auth", data=unauthenticated_calls.encode(),
                                     method="POST", headers={"Content-Type": "text/plain"})
    urllib.request.urlopen(request, timeout=5).close()


def test_a_job_writing_another_teams_prefix_is_refused_by_its_role(tmp_path, aws, spark_remote, dev_policies, admin):
    config = dev_config()
    build_infra(config, policies=dev_policies)
    target = lake.join(lake.team_prefix(config, "data-science"), "probe", "stolen")
    with EmrSimulator(aws, spark_remote, credentials=admin) as emr, enforcing(aws):
        # Control: the same job writing its own team's prefix succeeds under enforcement.
        job, key = one_asset(config, "analytics", tmp_path / "own", TRESPASS,
                             params={"target": lake.join(lake.team_prefix(config, "analytics"), "probe", "copy")})
        assert job.execute_in_process(raise_on_error=False).success
        job, key = one_asset(config, "analytics", tmp_path / "other", TRESPASS, params={"target": target})
        result = job.execute_in_process(raise_on_error=False)
        deadline = time.monotonic() + 5
        while emr.active() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert emr.active() == [] and emr.errors == []
    assert not result.success
    description = failure_description(result)
    # The driver's last line: the refused URI in one line, not the JVM's stack trace.
    assert description.splitlines()[-1] == (
        f"jobkit.AccessDenied: AccessDenied: {target}: refused to the job's role (its team's IAM policy)"), description
    assert "java.nio.file.AccessDeniedException" not in description
    prefix = S3Prefix.from_uri(target)
    left = boto3.client("s3").list_objects_v2(Bucket=prefix.bucket, Prefix=prefix.key).get("KeyCount")
    assert left == 0
