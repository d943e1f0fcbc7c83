"""The synthesized IAM policies applied for real: actor x action x target, expected against actual.

Each role is created in moto (a real HTTP server on 127.0.0.1, in its own process, because
moto's authentication switch and its backends are process-wide) with exactly the synthesized
trust and access documents, and assumed. Then authentication is switched on, a control case
proves an unauthorised call is refused, and every case runs as the role.

moto judges S3 object requests (it checks the resource of S3 requests) but ignores the
``Condition`` of identity policies and checks no resource outside S3. Those cases (listing under
an ``s3:prefix`` condition, EMR clusters by their ``team`` tag, EMR Serverless applications and
job runs) are reported as not evaluable by moto and judged by :mod:`tests.infra.iam_eval`
(parliament-linted documents, AWS's evaluation logic); they are never counted as moto's passes.

The matrix runs on prod twice: as configured, and with every root under a key prefix.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from emr_platform.lake import prefixes
from emr_platform.config import load_config
from emr_platform.lake.prefixes import S3Prefix
from tests.conftest import free_port
from tests.infra.iam_eval import ALLOWED, DENIED, decide
from tests.infra.synth import ACCOUNT_ID, Synthesis

REGION = "us-east-1"
WIDENED = "matrix-analytics-widened"
WIDENED_GRANT = {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"]}
S3_ACTIONS = {"read": "s3:GetObject", "write": "s3:PutObject", "delete": "s3:DeleteObject", "list": "s3:ListBucket"}


@dataclass(frozen=True)
class Actor:
    name: str  # e.g. "analytics/serverless", "platform/run", "control"
    role: str  # IAM role name
    kind: str  # serverless | ec2 | run | control
    owner: str | None  # the team, "platform", or None (control)


@dataclass(frozen=True)
class Target:
    name: str  # e.g. "lake/analytics", "logs/analytics/compute-logs"
    prefix: S3Prefix
    purpose: str  # lake | artifacts | logs
    owner: str  # team, "platform", "source", "tls"
    compute_logs: bool = False


@dataclass
class Tally:
    cases: int = 0
    as_expected: int = 0
    not_evaluable: int = 0
    wrong: list[str] = field(default_factory=list)

    def add(self, case: str, expected: str, actual: str, *, by_moto: bool) -> None:
        self.cases += 1
        if not by_moto:
            self.not_evaluable += 1
        if actual == expected:
            self.as_expected += 1
        else:
            self.wrong.append(f"{case}: expected {expected}, got {actual}{'' if by_moto else ' (offline evaluation)'}")


class Moto:
    """``python -m moto.server`` on a free 127.0.0.1 port, for this module only."""

    def __init__(self) -> None:
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{self.endpoint}/moto-api/", timeout=1).close()
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"moto server on port {self.port} did not start")
                time.sleep(0.1)

    def require_auth(self) -> None:
        """From the next request on, every call is authenticated and authorised against IAM."""
        # A plain-text body: a form-encoded one is parsed away before moto reads it.
        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset-auth", data=b"0", method="POST",
                                         headers={"Content-Type": "text/plain"})
        urllib.request.urlopen(request, timeout=5).close()

    def client(self, service: str, credentials: dict[str, str] | None = None):
        keys = credentials or {"aws_access_key_id": "admin", "aws_secret_access_key": "admin"}
        return boto3.session.Session(region_name=REGION, **keys).client(
            service, endpoint_url=self.endpoint,
            config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"}),
        )

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def _actors(stack: Synthesis, config) -> list[Actor]:
    actors = []
    for team in config.teams:
        actors += [
            Actor(f"{team}/serverless", f"emr-platform-prod-{team}-serverless", "serverless", team),
            Actor(f"{team}/ec2", f"emr-platform-prod-{team}-ec2", "ec2", team),
            Actor(f"{team}/run", f"emr-platform-prod-{team}-dagster", "run", team),
        ]
    actors.append(Actor("platform/run", "emr-platform-prod-platform-dagster", "run", prefixes.PLATFORM))
    actors.append(Actor("control", "emr-platform-prod-control", "control", None))
    return actors


def _targets(config) -> list[Target]:
    lake = config.lake
    owners = [*config.teams, prefixes.PLATFORM]
    targets = [Target(f"{p}/{o}", prefixes.team(lake, o, p), p, o) for p in prefixes.PURPOSES for o in owners]
    targets += [Target(f"logs/{o}/compute-logs", prefixes.compute_logs(lake, o), "logs", o, compute_logs=True)
                for o in owners]
    targets.append(Target("lake/source", S3Prefix.from_uri(config.sources["nycflights13"]), "lake", "source"))
    targets.append(Target("artifacts/emr-tls", prefixes.tls_material(lake), "artifacts", "tls"))
    return targets


def expected(config, actor: Actor, target: Target, action: str) -> str:
    """The access rules of issue 12, written independently of infra/: who may do what where."""
    team, owner = actor.owner, target.owner
    upstream = config.team(team).upstream_teams if team in config.teams else []
    if actor.kind in ("serverless", "ec2"):
        readable = {("lake", team), ("logs", team), ("artifacts", team), ("lake", "source")}
        readable |= {("lake", u) for u in upstream}
        if actor.kind == "ec2":
            readable.add(("artifacts", "tls"))
        writable = {("lake", team), ("logs", team)}
        if action in ("read", "list"):
            ok = (target.purpose, owner) in readable and not (action == "list" and owner == "tls")
        else:
            ok = (target.purpose, owner) in writable
    elif actor.kind == "run" and team == prefixes.PLATFORM:
        ok = owner == team and (
            target.purpose == "lake" or (target.compute_logs and action in ("read", "write", "list"))
        )
    elif actor.kind == "run":
        ok = owner == team and (
            (target.purpose in ("artifacts", "logs") and action in ("read", "list"))
            or (target.purpose == "artifacts" and action == "write")
            or (target.compute_logs and action == "write")
        )
    else:  # control: reads every location's compute logs, nothing else
        ok = target.compute_logs and action in ("read", "list")
    return ALLOWED if ok else DENIED


def _moto_can_judge(policy: str, iam_action: str) -> bool:
    """moto judges S3 requests whose matching statements carry no condition."""
    statements = json.loads(policy)["Statement"]
    service, _, name = iam_action.partition(":")
    relevant = [
        s for s in statements
        if any(a == "*" or a.lower() in (iam_action.lower(), f"{service}:*")
               or (a.endswith("*") and iam_action.lower().startswith(a[:-1].lower())) for a in s["Action"])
    ]
    return service == "s3" and not any(s.get("Condition") for s in relevant)


def _run_s3(s3, action: str, target: Target, actor: Actor) -> str:
    key = f"{target.prefix.key}/matrix/{actor.name.replace('/', '-')}" if target.prefix.key else "matrix"
    try:
        if action == "read":
            s3.get_object(Bucket=target.prefix.bucket, Key=f"{target.prefix.key}/seed.txt")
        elif action == "write":
            s3.put_object(Bucket=target.prefix.bucket, Key=key, Body=b"x")
        elif action == "delete":
            s3.delete_object(Bucket=target.prefix.bucket, Key=key)
        else:
            s3.list_objects_v2(Bucket=target.prefix.bucket, Prefix=f"{target.prefix.key}/")
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "AccessDenied":
            return DENIED
        raise
    return ALLOWED


@pytest.fixture(scope="module", params=["prod", "prod with key-prefixed roots"])
def applied(request):
    """The stack's roles created in moto and assumed; yields (config, stack, moto, credentials by role)."""
    if "key-prefixed" in request.param:
        config, stack = request.getfixturevalue("key_prefixed")
    else:
        config, stack = load_config("prod"), request.getfixturevalue("prod")
    policies = stack.role_policies()
    moto = Moto()
    try:
        s3, iam, sts = moto.client("s3"), moto.client("iam"), moto.client("sts")
        for bucket in {t.prefix.bucket for t in _targets(config)}:
            s3.create_bucket(Bucket=bucket)
        for target in _targets(config):
            s3.put_object(Bucket=target.prefix.bucket, Key=f"{target.prefix.key}/seed.txt", Body=b"seed")
        trust = {r.inputs.get("name") or r.name: r.inputs["assumeRolePolicy"] for r in stack.of_type("aws:iam/role:Role")}
        credentials = {}
        for actor in _actors(stack, config) + [Actor("nobody", "nobody", "none", None)]:
            document = trust.get(actor.role) or json.dumps(
                {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                         "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"}}]})
            iam.create_role(RoleName=actor.role, AssumeRolePolicyDocument=document)
            if actor.role in policies:
                iam.put_role_policy(RoleName=actor.role, PolicyName="access", PolicyDocument=policies[actor.role])
            assumed = sts.assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT_ID}:role/{actor.role}", RoleSessionName="matrix")
            c = assumed["Credentials"]
            credentials[actor.role] = {"aws_access_key_id": c["AccessKeyId"], "aws_secret_access_key": c["SecretAccessKey"],
                                       "aws_session_token": c["SessionToken"]}
        # The analytics job role plus a later grant reading data-science's lake and writing it:
        # the matrix must flag the read, and the explicit deny must still refuse the write.
        widened = dict(WIDENED_GRANT, Resource=[prefixes.team(config.lake, "data-science", "lake").object_arn()])
        iam.create_role(RoleName=WIDENED, AssumeRolePolicyDocument=trust["emr-platform-prod-analytics-serverless"])
        iam.put_role_policy(RoleName=WIDENED, PolicyName="access",
                            PolicyDocument=policies["emr-platform-prod-analytics-serverless"])
        iam.put_role_policy(RoleName=WIDENED, PolicyName="later-grant",
                            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [widened]}))
        c = sts.assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT_ID}:role/{WIDENED}", RoleSessionName="matrix")["Credentials"]
        credentials[WIDENED] = {"aws_access_key_id": c["AccessKeyId"], "aws_secret_access_key": c["SecretAccessKey"],
                                "aws_session_token": c["SessionToken"]}
        policies = {**policies, WIDENED: [policies["emr-platform-prod-analytics-serverless"],
                                          json.dumps({"Version": "2012-10-17", "Statement": [widened]})]}
        moto.require_auth()
        yield config, stack, policies, moto, credentials
    finally:
        moto.stop()


def test_authentication_is_enforced(applied):
    """Control cases: without them a pass below could mean moto let everything through."""
    config, stack, policies, moto, credentials = applied
    own = prefixes.team(config.lake, "analytics", "lake")
    nobody = moto.client("s3", credentials["nobody"])
    with pytest.raises(ClientError, match="AccessDenied"):
        nobody.get_object(Bucket=own.bucket, Key=f"{own.key}/seed.txt")
    analytics = moto.client("s3", credentials["emr-platform-prod-analytics-serverless"])
    assert analytics.get_object(Bucket=own.bucket, Key=f"{own.key}/seed.txt")["Body"].read() == b"seed"
    other = prefixes.team(config.lake, "data-science", "lake")
    with pytest.raises(ClientError, match="AccessDenied"):
        analytics.put_object(Bucket=other.bucket, Key=f"{other.key}/x", Body=b"x")


def _judge(config, client, policies: list[str], actor: Actor, target: Target, action: str) -> tuple[str, str, str, bool]:
    """``(case, expected, actual, judged by moto)`` of one S3 case; moto's answer where it can give one."""
    iam_action = S3_ACTIONS[action]
    name = f"{actor.name} {action} {target.name}"
    resource = target.prefix.bucket_arn() if action == "list" else (
        f"{target.prefix.bucket_arn()}/{target.prefix.key}/seed.txt")
    context = {"s3:prefix": f"{target.prefix.key}/"} if action == "list" else {}
    offline = decide(policies, iam_action, resource, context)
    if not all(_moto_can_judge(p, iam_action) for p in policies):
        return name, expected(config, actor, target, action), offline, False
    actual = _run_s3(client, action, target, actor)
    # moto is a second engine for these: the offline evaluation must agree with it.
    assert offline == actual, f"{name}: moto says {actual}, the offline evaluation {offline}"
    return name, expected(config, actor, target, action), actual, True


def _run_matrix(config, moto, credentials, policies: dict, actors: list[Actor]) -> Tally:
    tally = Tally()
    clients = {actor.role: moto.client("s3", credentials[actor.role]) for actor in actors}
    cases = [(actor, target, action) for actor in actors for target in _targets(config) for action in S3_ACTIONS]

    def judge(case: tuple[Actor, Target, str]) -> tuple[str, str, str, bool]:
        actor, target, action = case
        docs = policies[actor.role]
        return _judge(config, clients[actor.role], docs if isinstance(docs, list) else [docs], actor, target, action)

    # Threads: each case waits on moto's process; botocore clients are thread-safe.
    with ThreadPoolExecutor(max_workers=4) as pool:
        for name, want, actual, by_moto in pool.map(judge, cases):
            tally.add(name, want, actual, by_moto=by_moto)
    return tally


def test_s3_matrix(applied, capsys):
    config, stack, policies, moto, credentials = applied
    _report("S3", _run_matrix(config, moto, credentials, policies, _actors(stack, config)), capsys)


def test_the_matrix_flags_a_later_grant_and_the_deny_outlives_it(applied):
    """Control case of the matrix itself: a role widened by a later grant fails it exactly where widened."""
    config, stack, policies, moto, credentials = applied
    actor = Actor("analytics/serverless+grant", WIDENED, "serverless", "analytics")
    tally = _run_matrix(config, moto, credentials, policies, [actor])
    # Only the read is flagged: the grant lists nothing, and its write meets the explicit deny.
    assert tally.wrong == ["analytics/serverless+grant read lake/data-science: expected denied, got allowed"]
    # The write the later grant also allows stays refused by the explicit deny, in moto itself.
    other = prefixes.team(config.lake, "data-science", "lake")
    with pytest.raises(ClientError, match="AccessDenied"):
        moto.client("s3", credentials[WIDENED]).put_object(Bucket=other.bucket, Key=f"{other.key}/x", Body=b"x")


def _report(what: str, tally: Tally, capsys) -> None:
    with capsys.disabled():  # the counts show in every run, not only with -s
        print(f"\nIAM matrix ({what}): {tally.cases} cases, {tally.as_expected} as expected, "
              f"{tally.not_evaluable} not evaluable by moto (judged offline)")
    assert not tally.wrong, "\n".join(tally.wrong)
    assert tally.as_expected == tally.cases


CLUSTER_ACTIONS = ["DescribeCluster", "AddJobFlowSteps", "DescribeStep", "ListSteps", "CancelSteps",
                   "TerminateJobFlows", "ListInstances"]
ORPHAN_ACTIONS = {"DescribeCluster", "ListSteps", "CancelSteps", "TerminateJobFlows"}


def _emr_cases(config, stack: Synthesis):
    """``(case, role, action, resource, context, expected)`` of the EMR APIs the launchers and the
    orphan sensor call, on every team's clusters, applications, job runs and roles."""
    cluster = f"arn:aws:elasticmapreduce:{REGION}:{ACCOUNT_ID}:cluster/j-MATRIX"
    applications = {a.inputs["tags"]["team"]: a.outputs["arn"]
                    for a in stack.of_type("aws:emrserverless/application:Application")}
    role_arn = {r.inputs["name"]: r.outputs["arn"] for r in stack.of_type("aws:iam/role:Role") if r.inputs.get("name")}
    managed = {"aws:ResourceTag/managed-by": "emr-platform"}
    locations = [*config.teams, prefixes.PLATFORM]
    for actor in locations:
        role = f"emr-platform-prod-{actor}-dagster"
        platform = actor == prefixes.PLATFORM
        for team in config.teams:
            own = actor == team
            tagged = {"aws:ResourceTag/team": team, **managed}
            for action in CLUSTER_ACTIONS:
                yield (f"{actor}/run {action} {team}'s cluster", role, f"elasticmapreduce:{action}", cluster, tagged,
                       own or (platform and action in ORPHAN_ACTIONS))
            create = {"aws:RequestTag/team": team, "aws:TagKeys": ["team", "asset", "client-token"]}
            yield f"{actor}/run RunJobFlow tagged {team}", role, "elasticmapreduce:RunJobFlow", "*", create, own
            yield (f"{actor}/run AddTags team={team} to a new cluster", role, "elasticmapreduce:AddTags", cluster,
                   create, own)
            yield (f"{actor}/run AddTags asset=x to {team}'s cluster", role, "elasticmapreduce:AddTags", cluster,
                   {**tagged, "aws:RequestTag/asset": "x", "aws:TagKeys": ["asset"]}, own)
            others = sorted(set(config.teams) - {team})
            yield (f"{actor}/run AddTags team={others[0]} to {team}'s cluster", role, "elasticmapreduce:AddTags",
                   cluster, {**tagged, "aws:RequestTag/team": others[0], "aws:TagKeys": ["team"]}, False)
            app = applications[team]
            yield (f"{actor}/run StartJobRun on {team}'s application", role, "emr-serverless:StartJobRun", app,
                   {"aws:RequestTag/team": actor, "aws:TagKeys": ["team", "asset"]}, own)
            for action in ("GetJobRun", "CancelJobRun"):
                yield (f"{actor}/run {action} of {team}'s job run", role, f"emr-serverless:{action}",
                       f"{app}/jobruns/00matrix", {"aws:ResourceTag/team": team}, own or platform)
            yield (f"{actor}/run passes {team}'s execution role to EMR Serverless", role, "iam:PassRole",
                   role_arn[f"emr-platform-prod-{team}-serverless"],
                   {"iam:PassedToService": "emr-serverless.amazonaws.com"}, own)
            yield (f"{actor}/run passes {team}'s instance role to EC2", role, "iam:PassRole",
                   role_arn[f"emr-platform-prod-{team}-ec2"], {"iam:PassedToService": "ec2.amazonaws.com"}, own)
        if not platform:
            yield (f"{actor}/run StartJobRun without the team tag", role, "emr-serverless:StartJobRun",
                   applications[actor], {"aws:TagKeys": ["asset"]}, False)
            yield (f"{actor}/run passes its execution role to another service", role, "iam:PassRole",
                   role_arn[f"emr-platform-prod-{actor}-serverless"], {"iam:PassedToService": "lambda.amazonaws.com"},
                   False)


def test_emr_matrix(applied, capsys):
    """EMR and EMR Serverless: every case hangs on a condition (moto checks neither), so all are judged offline."""
    config, stack, policies, moto, credentials = applied
    tally = Tally()
    for case, role, action, resource, context, allowed in _emr_cases(config, stack):
        assert not _moto_can_judge(policies[role], action)
        tally.add(case, ALLOWED if allowed else DENIED, decide([policies[role]], action, resource, context),
                  by_moto=False)
    _report("EMR", tally, capsys)
