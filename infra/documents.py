"""Pure builders of IAM and bucket policy documents (plain dicts of strings, no Pulumi, no AWS).

Components pass them through ``pulumi.Output.json_dumps`` when an ARN is only known at
deploy time. The S3 scope of a team is: read its own lake prefix, its declared upstream
teams' prefixes and the declared ``sources`` inside S3; write only its own prefix (lake and
logs); and an explicit ``Deny`` on every other team's lake and logs prefixes so no later grant
can widen it.
"""

from __future__ import annotations

from emr_platform import naming
from emr_platform.config import PlatformConfig

WRITE_ACTIONS = ["s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]
READ_ACTIONS = ["s3:GetObject", "s3:GetObjectVersion"]


def s3_arn(bucket: str, key: str = "") -> str:
    return f"arn:aws:s3:::{bucket}/{key}" if key else f"arn:aws:s3:::{bucket}"


def readable_prefixes(config: PlatformConfig, team: str) -> list[tuple[str, str]]:
    """``(bucket, key prefix ending in '/')`` pairs the team may read: own, upstream teams', S3 sources."""
    lake = naming.bucket(config, "lake")
    pairs = [(lake, f"{name}/") for name in [team, *config.team(team).upstream_teams]]
    for uri in config.sources.values():
        if uri.startswith("s3://"):
            bucket, _, key = uri.removeprefix("s3://").partition("/")
            pairs.append((bucket, key.rstrip("/") + "/" if key else ""))
    return pairs


def team_s3_statements(config: PlatformConfig, team: str) -> list[dict]:
    """IAM statements of a team's job roles on the lake, artifacts and logs buckets."""
    lake, artifacts, logs = (naming.bucket(config, p) for p in ("lake", "artifacts", "logs"))
    readable = readable_prefixes(config, team)
    list_by_bucket: dict[str, list[str]] = {}
    for bucket, key in readable + [(logs, f"{team}/")]:
        list_by_bucket.setdefault(bucket, []).append(f"{key}*")
    statements = [
        {
            "Sid": f"List{i}",
            "Effect": "Allow",
            "Action": ["s3:ListBucket"],
            "Resource": [s3_arn(bucket)],
            "Condition": {"StringLike": {"s3:prefix": prefixes}},
        }
        for i, (bucket, prefixes) in enumerate(sorted(list_by_bucket.items()))
    ]
    statements += [
        {"Sid": "ReadLake", "Effect": "Allow", "Action": READ_ACTIONS,
         "Resource": sorted({s3_arn(b, f"{k}*") for b, k in readable})},
        # Job scripts and jobkit: code, not data, so every team reads the whole bucket.
        {"Sid": "ReadArtifacts", "Effect": "Allow", "Action": READ_ACTIONS, "Resource": [s3_arn(artifacts, "*")]},
        {"Sid": "WriteOwnPrefix", "Effect": "Allow", "Action": READ_ACTIONS + WRITE_ACTIONS,
         "Resource": [s3_arn(lake, f"{team}/*"), s3_arn(logs, f"{team}/*")]},
    ]
    others = sorted(set(config.teams) - {team})
    if others:
        statements.append(
            {"Sid": "DenyOtherTeamsWrite", "Effect": "Deny", "Action": WRITE_ACTIONS,
             "Resource": [s3_arn(bucket, f"{other}/*") for bucket in (lake, logs) for other in others]}
        )
    return statements


def tls_only_bucket_policy(bucket_arn: str) -> dict:
    """Bucket policy refusing any request not made over TLS."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [bucket_arn, f"{bucket_arn}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ],
    }


def assume_role(service: str, account_id: str | None = None) -> dict:
    """Trust policy letting ``service`` (e.g. ``emr-serverless.amazonaws.com``) assume the role."""
    statement: dict = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    if account_id:
        # Confused-deputy guard: only this account's resources may use the role.
        statement["Condition"] = {"StringEquals": {"aws:SourceAccount": account_id}}
    return {"Version": "2012-10-17", "Statement": [statement]}


def document(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}
