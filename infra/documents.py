"""Builders of IAM and bucket policy documents: plain dicts, with ARNs only known at deploy time
joined by :func:`arn` (then passed through ``pulumi.Output.json_dumps``).

Every S3 location is taken from :mod:`emr_platform.lake.prefixes` as ``(bucket, key prefix)``, so a
lake, artifacts or logs root with a key prefix (``s3://bucket/some/prefix``) is scoped exactly
as the launchers use it. The S3 scope of an owner (a team, or the platform's code location):

- read its own lake prefix, its declared upstream teams' prefixes and the declared S3 ``sources``;
- write only its own prefixes;
- an explicit ``Deny`` of every write-class action on every other known prefix: other teams',
  the platform's, the sources', the EMR TLS material, in the lake, artifacts and logs buckets,
  so no later grant can widen it.
"""

from __future__ import annotations

import pulumi

from emr_platform.lake import prefixes
from emr_platform.config import PlatformConfig
from emr_platform.lake.prefixes import S3Prefix

PURPOSES = prefixes.PURPOSES
READ_ACTIONS = ["s3:GetObject", "s3:GetObjectVersion"]
# What jobs and runs need to write their own prefix.
WRITE_ACTIONS = ["s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]
# Every action that changes an object: its content, versions, tags, ACLs, retention, legal hold,
# storage class (restore) or replicas. Wildcards keep actions S3 adds later in the same families.
WRITE_CLASS_ACTIONS = [
    "s3:PutObject*", "s3:DeleteObject*", "s3:AbortMultipartUpload", "s3:RestoreObject", "s3:Replicate*",
    "s3:BypassGovernanceRetention", "s3:ObjectOwnerOverrideToBucketOwner",
]


def arn(service: str, region: str, account_id: pulumi.Input[str], suffix: str) -> pulumi.Output[str]:
    """``arn:aws:<service>:<region>:<account>:<suffix>`` (region ``""`` for global services such as IAM)."""
    return pulumi.Output.concat(f"arn:aws:{service}:{region}:", account_id, ":", suffix)


def owned(config: PlatformConfig, owner: str) -> dict[str, S3Prefix]:
    """The prefix ``owner`` (a team or :data:`prefixes.PLATFORM`) owns under each root, by purpose."""
    return {purpose: prefixes.team(config.lake, owner, purpose) for purpose in PURPOSES}


def readable(config: PlatformConfig, team: str) -> list[S3Prefix]:
    """Prefixes the team's jobs may read: its own and its upstream teams' lake prefixes, the S3 sources."""
    lake = [prefixes.team(config.lake, name, "lake") for name in [team, *config.team(team).upstream_teams]]
    return lake + [S3Prefix.from_uri(uri) for uri in config.sources.values() if uri.startswith("s3://")]


def readable_prefixes(config: PlatformConfig, team: str) -> list[tuple[str, str]]:
    """:func:`readable` as ``(bucket, key prefix ending in '/')`` pairs (``""``: the whole bucket)."""
    return [(p.bucket, f"{p.key}/" if p.key else "") for p in readable(config, team)]


def other_teams_prefixes(config: PlatformConfig, owner: str) -> list[S3Prefix]:
    """Every other team's lake and logs prefixes, lake first, teams in name order."""
    others = sorted(set(config.teams) - {owner})
    return [prefixes.team(config.lake, other, purpose) for purpose in ("lake", "logs") for other in others]


def other_prefixes(config: PlatformConfig, owner: str) -> list[S3Prefix]:
    """Every other known prefix :func:`other_teams_prefixes` leaves out: other teams' artifacts, the
    platform's prefixes (unless ``owner`` is the platform), the sources' and the TLS material."""
    lake_root = prefixes.root(config.lake, "lake")
    found = [prefixes.team(config.lake, other, "artifacts") for other in sorted(set(config.teams) - {owner})]
    if owner != prefixes.PLATFORM:
        found += [prefixes.team(config.lake, prefixes.PLATFORM, purpose) for purpose in PURPOSES]
    for uri in config.sources.values():
        if uri.startswith("s3://"):
            source = S3Prefix.from_uri(uri)
            # A source inside the lake is denied from its top folder (``landing/``) down.
            under_lake = _relative_key(source, lake_root)
            found.append(lake_root.child(under_lake.split("/")[0]) if under_lake else source)
    found.append(prefixes.tls_material(config.lake))
    owner_keys = {p.object_arn() for p in owned(config, owner).values()}
    return [p for p in dict.fromkeys(found) if p.object_arn() not in owner_keys]


def _relative_key(prefix: S3Prefix, root: S3Prefix) -> str | None:
    """``prefix``'s key below ``root`` (``None`` if it is not below it)."""
    if prefix.bucket != root.bucket:
        return None
    if not root.key:
        return prefix.key
    return prefix.key.removeprefix(f"{root.key}/") if prefix.key.startswith(f"{root.key}/") else None


def deny_foreign_writes(config: PlatformConfig, owner: str) -> list[dict]:
    """Explicit denials of every write-class action on every prefix ``owner`` does not own."""
    statements = []
    teams = other_teams_prefixes(config, owner)
    if teams:
        statements.append({"Sid": "DenyOtherTeamsWrite", "Effect": "Deny", "Action": WRITE_CLASS_ACTIONS,
                           "Resource": [p.object_arn() for p in teams]})
    statements.append({"Sid": "DenyOtherPrefixesWrite", "Effect": "Deny", "Action": WRITE_CLASS_ACTIONS,
                       "Resource": [p.object_arn() for p in other_prefixes(config, owner)]})
    return statements


def list_statements(grants: list[S3Prefix], sid: str = "List") -> list[dict]:
    """``s3:ListBucket`` on each bucket of ``grants``, only under those prefixes (``s3:prefix``)."""
    by_bucket: dict[str, list[str]] = {}
    for prefix in grants:
        by_bucket.setdefault(prefix.bucket, []).append(prefix.list_prefix)
    return [
        {"Sid": f"{sid}{i}", "Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": [S3Prefix(bucket).bucket_arn()],
         "Condition": {"StringLike": {"s3:prefix": list(dict.fromkeys(keys))}}}
        for i, (bucket, keys) in enumerate(sorted(by_bucket.items()))
    ]


def team_s3_statements(config: PlatformConfig, team: str, *, instance_profile: bool = False) -> list[dict]:
    """IAM statements of a team's job roles on the lake, artifacts and logs buckets.

    ``instance_profile``: the role of EMR Classic's instances, which alone reads the TLS material.
    """
    own = owned(config, team)
    reads = readable(config, team)
    statements = list_statements(reads + [own["logs"], own["artifacts"]])
    statements += [
        {"Sid": "ReadLake", "Effect": "Allow", "Action": READ_ACTIONS,
         "Resource": sorted({p.object_arn() for p in reads})},
        # Staged job scripts and their dependency zip (resources/emr/launch.py, stage) live under the team's prefix.
        {"Sid": "ReadArtifacts", "Effect": "Allow", "Action": READ_ACTIONS, "Resource": [own["artifacts"].object_arn()]},
        {"Sid": "WriteOwnPrefix", "Effect": "Allow", "Action": READ_ACTIONS + WRITE_ACTIONS,
         "Resource": [own["lake"].object_arn(), own["logs"].object_arn()]},
    ]
    if instance_profile:
        statements.append({"Sid": "ReadTlsMaterial", "Effect": "Allow", "Action": ["s3:GetObject"],
                           "Resource": [prefixes.tls_material(config.lake).object_arn()]})
    return statements + deny_foreign_writes(config, team)


def run_s3_statements(config: PlatformConfig, location: str) -> list[dict]:
    """IAM statements of a code location's Dagster run role (a team's, or the platform's) on S3.

    A team's runs stage job scripts under its artifacts prefix and read its jobs' driver logs and
    Pipes messages under its logs prefix; the platform's read and write its cost tables. Every
    location writes its Dagster compute logs only under its own :func:`prefixes.compute_logs`.
    """
    own = owned(config, location)
    compute_logs = prefixes.compute_logs(config.lake, location)
    if location == prefixes.PLATFORM:
        statements = [
            {"Sid": "WriteCostTables", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
             "Resource": [own["lake"].object_arn()]},
            *list_statements([own["lake"], compute_logs], sid="ListOwnPrefixes"),
        ]
    else:
        statements = [
            # Driver logs and the jobs' Pipes messages (resources/emr); listing makes a missing key 404, not 403.
            {"Sid": "ReadJobOutput", "Effect": "Allow", "Action": ["s3:GetObject"], "Resource": [own["logs"].object_arn()]},
            {"Sid": "UploadScripts", "Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject"],
             "Resource": [own["artifacts"].object_arn()]},
            *list_statements([own["artifacts"], own["logs"]], sid="ListOwnPrefixes"),
        ]
    statements.append({"Sid": "ComputeLogs", "Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject"],
                       "Resource": [compute_logs.object_arn()]})
    return statements + deny_foreign_writes(config, location)


def control_s3_statements(config: PlatformConfig, locations: list[str]) -> list[dict]:
    """The webserver's and daemon's S3 access: reading every code location's compute logs, nothing else."""
    compute_logs = [prefixes.compute_logs(config.lake, location) for location in locations]
    return [
        {"Sid": "ReadComputeLogs", "Effect": "Allow", "Action": ["s3:GetObject"],
         "Resource": [p.object_arn() for p in compute_logs]},
        *list_statements(compute_logs, sid="ListComputeLogs"),
    ]


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


def assume_role(service: str, account_id: pulumi.Input[str] | None = None) -> dict:
    """Trust policy letting ``service`` (e.g. ``emr-serverless.amazonaws.com``) assume the role."""
    statement: dict = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    if account_id:
        # Confused-deputy guard: only this account's resources may use the role.
        statement["Condition"] = {"StringEquals": {"aws:SourceAccount": account_id}}
    return {"Version": "2012-10-17", "Statement": [statement]}


def document(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}
