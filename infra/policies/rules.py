"""Security rules as ``pulumi_policy`` policies; ``POLICIES`` is the pack.

Properties are read as the engine sends them: camelCase input names; nested objects of
provider configuration may arrive JSON-encoded (``defaultTags``), policy documents always do.
Each rule states what it proves in its description.
"""

from __future__ import annotations

import fnmatch
import importlib
import json
import re
from functools import cache
from typing import Any, Iterable, Mapping

from pulumi_policy import (
    EnforcementLevel,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

REQUIRED_TAGS = ("project", "stage", "managed-by")
TEAM_COMPONENT = "emr-platform:team:Team"
LOG_RETENTION_DAYS = 90
S3_WRITE = ("s3:PutObject", "s3:DeleteObject", "s3:PutObjectTagging", "s3:DeleteObjectVersion")


def _json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _list(value: Any) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _statements(policy: Any) -> list[dict]:
    doc = _json(policy)
    return [s for s in _list(doc.get("Statement")) if isinstance(s, dict)] if isinstance(doc, dict) else []


def policy_documents(resource_type: str, props: Mapping[str, Any]) -> list[Any]:
    """Every IAM-style policy document a resource carries."""
    docs = [props.get(key) for key in ("policy", "assumeRolePolicy") if props.get(key)]
    if resource_type == "aws:iam/role:Role":
        docs += [p.get("policy") for p in _list(props.get("inlinePolicies")) if isinstance(p, dict)]
    return docs


# --- encryption -------------------------------------------------------------------------------

def _encryption_problems(resource_type: str, p: Mapping[str, Any]) -> list[str]:
    if resource_type == "aws:kms/key:Key" and p.get("enableKeyRotation") is not True:
        return ["KMS key without yearly rotation"]
    if resource_type == "aws:cloudwatch/logGroup:LogGroup" and not p.get("kmsKeyId"):
        return ["log group not encrypted with the stage's KMS key"]
    if resource_type == "aws:sns/topic:Topic" and not p.get("kmsMasterKeyId"):
        return ["SNS topic not encrypted with KMS"]
    if resource_type == "aws:secretsmanager/secret:Secret" and not p.get("kmsKeyId"):
        return ["secret not encrypted with the stage's KMS key"]
    if resource_type == "aws:rds/instance:Instance" and p.get("storageEncrypted") is not True:
        return ["database storage not encrypted"]
    if resource_type == "aws:ecr/repository:Repository":
        configs = _list(p.get("encryptionConfigurations"))
        if not configs or configs[0].get("encryptionType") != "KMS":
            return ["image repository not encrypted with KMS"]
    if resource_type == "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration":
        defaults = [r.get("applyServerSideEncryptionByDefault") or {} for r in _list(p.get("rules"))]
        if not defaults or any(d.get("sseAlgorithm") != "aws:kms" or not d.get("kmsMasterKeyId") for d in defaults):
            return ["bucket default encryption is not SSE-KMS with the stage's key"]
    if resource_type == "aws:emrserverless/application:Application":
        monitoring = p.get("monitoringConfiguration") or {}
        logging = monitoring.get("cloudwatchLoggingConfiguration") or {}
        s3 = monitoring.get("s3MonitoringConfiguration")
        if not logging.get("encryptionKeyArn") or (s3 and not s3.get("encryptionKeyArn")):
            return ["EMR Serverless job logs not encrypted with KMS"]
    if resource_type == "aws:emr/securityConfiguration:SecurityConfiguration":
        encryption = (_json(p.get("configuration")) or {}).get("EncryptionConfiguration", {})
        if not (encryption.get("EnableAtRestEncryption") and encryption.get("EnableInTransitEncryption")):
            return ["EMR security configuration without at-rest and in-transit encryption"]
    if resource_type == "aws:lb/listener:Listener" and p.get("protocol") != "HTTPS":
        actions = _list(p.get("defaultActions"))
        if not actions or any((a.get("redirect") or {}).get("protocol") != "HTTPS" for a in actions):
            return ["plain-HTTP listener that does not redirect to HTTPS"]
    if resource_type == "aws:glue/dataCatalogEncryptionSettings:DataCatalogEncryptionSettings":
        at_rest = (p.get("dataCatalogEncryptionSettings") or {}).get("encryptionAtRest") or {}
        if at_rest.get("catalogEncryptionMode") != "SSE-KMS":
            return ["Glue catalog not encrypted with KMS"]
    return []


def _validate_encryption(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for problem in _encryption_problems(args.resource_type, args.props):
        report(problem, None)


def _validate_bucket_encryption(args: StackValidationArgs, report: ReportViolation) -> None:
    encrypted = {
        r.props.get("bucket")
        for r in args.resources
        if r.resource_type.endswith(":BucketServerSideEncryptionConfiguration")
        and not _encryption_problems(r.resource_type, r.props)
    }
    for bucket in _of_type(args.resources, "aws:s3/bucket:Bucket"):
        if bucket.props.get("bucket") not in encrypted:
            report(f"bucket {bucket.props.get('bucket')} has no SSE-KMS default encryption", bucket.urn)


# --- public exposure ----------------------------------------------------------------------------

def _validate_not_public(args: StackValidationArgs, report: ReportViolation) -> None:
    blocked = {
        r.props.get("bucket")
        for r in _of_type(args.resources, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
        if all(r.props.get(k) is True for k in
               ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"))
    }
    for bucket in _of_type(args.resources, "aws:s3/bucket:Bucket"):
        if bucket.props.get("bucket") not in blocked:
            report(f"bucket {bucket.props.get('bucket')} does not block all public access", bucket.urn)
        if bucket.props.get("acl") not in (None, "private"):
            report(f"bucket {bucket.props.get('bucket')} has ACL {bucket.props.get('acl')}", bucket.urn)
    for db in _of_type(args.resources, "aws:rds/instance:Instance"):
        if db.props.get("publiclyAccessible") is not False:
            report(f"database {db.props.get('identifier')} is (or may be) publicly accessible", db.urn)


# --- logs ------------------------------------------------------------------------------------------

def _validate_retention(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == "aws:cloudwatch/logGroup:LogGroup":
        days = args.props.get("retentionInDays")
        if days != LOG_RETENTION_DAYS:
            name = args.props.get("name")
            report(f"log group {name} keeps logs {days or 'forever'} days, expected {LOG_RETENTION_DAYS}", None)


# --- IAM -------------------------------------------------------------------------------------------

def _validate_no_star(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for doc in policy_documents(args.resource_type, args.props):
        for statement in _statements(doc):
            if statement.get("Effect", "Allow") != "Allow":
                continue
            if "*" in _list(statement.get("Action")) and "*" in _list(statement.get("Resource")):
                report(f"statement {statement.get('Sid', '')!r} allows every action on every resource", None)


def _team_of(resource: PolicyResource) -> str | None:
    node = resource.parent
    while node is not None:
        if node.resource_type == TEAM_COMPONENT:
            return node.name
        node = node.parent
    return None


def _matches(pattern: Any, action: str) -> bool:
    """Whether an IAM action pattern (``s3:Put*``, ``*``) names ``action`` (IAM actions ignore case)."""
    return fnmatch.fnmatchcase(action.lower(), str(pattern).lower())


def _write_actions(statement: dict) -> bool:
    return any(_matches(a, w) for a in _list(statement.get("Action")) for w in S3_WRITE)


def _denies_every_write(statement: dict) -> bool:
    return all(any(_matches(a, w) for a in _list(statement.get("Action"))) for w in S3_WRITE)


def _validate_team_isolation(args: StackValidationArgs, report: ReportViolation) -> None:
    teams = {r.name for r in _of_type(args.resources, TEAM_COMPONENT)}
    for resource in args.resources:
        team = _team_of(resource)
        if team is None or resource.resource_type != "aws:iam/rolePolicy:RolePolicy":
            continue
        statements = [st for st in _statements(resource.props.get("policy")) if _write_actions(st)]
        grants = [st for st in statements if st.get("Effect", "Allow") == "Allow"]
        denials = {str(r) for st in statements if st.get("Effect") == "Deny" and _denies_every_write(st)
                   for r in _list(st.get("Resource"))}
        # Every bucket the role may write to must deny each other team's prefix in it (which sits
        # under the root's key prefix, if the root has one).
        buckets = {m.group(1) for st in grants for r in _list(st.get("Resource"))
                   if (m := re.match(r"^arn:aws:s3:::([^/]+)/", str(r)))}
        for other in sorted(teams - {team}):
            undenied = sorted(
                b for b in buckets
                if not any(re.fullmatch(rf"arn:aws:s3:::{re.escape(b)}/(.+/)?{re.escape(other)}/\*", d) for d in denials)
            )
            # A write grant on another team's prefix or on a whole bucket reaches that prefix.
            granted = [
                r for st in grants for r in _list(st.get("Resource"))
                if f"/{other}/" in str(r) or re.match(r"^arn:aws:s3:::[^/]+/\*$", str(r)) or str(r) == "*"
            ]
            if undenied or granted:
                report(f"team {team}'s role may write team {other}'s prefix in {undenied or granted}", resource.urn)


EMR_UNSCOPED = {"elasticmapreduce:listclusters", "emr-serverless:listapplications"}


def _validate_team_emr_scope(args: StackValidationArgs, report: ReportViolation) -> None:
    """A role tagged ``team=<t>`` acts on EMR clusters only under a ``team`` tag condition naming ``t``,
    and on EMR Serverless only on named applications (no ``/applications/*`` but for listing)."""
    teams = {r.props.get("name"): (r.props.get("tags") or {}).get("team")
             for r in _of_type(args.resources, "aws:iam/role:Role")}
    for resource in _of_type(args.resources, "aws:iam/rolePolicy:RolePolicy"):
        team = teams.get(resource.props.get("role"))
        if not team:
            continue
        for st in _statements(resource.props.get("policy")):
            actions = [str(a).lower() for a in _list(st.get("Action"))]
            if st.get("Effect", "Allow") != "Allow" or all(a in EMR_UNSCOPED for a in actions):
                continue
            condition = json.dumps(st.get("Condition") or {})
            if any(a.startswith(("elasticmapreduce:", "*")) for a in actions) and not re.search(
                rf'"aws:(Resource|Request)Tag/team": "{re.escape(team)}"', condition
            ):
                report(f"team {team}'s statement {st.get('Sid', '')!r} acts on EMR clusters without its team tag",
                       resource.urn)
            if any(a.startswith(("emr-serverless:", "*")) for a in actions) and any(
                "/applications/*" in str(r) or str(r) == "*" for r in _list(st.get("Resource"))
            ):
                report(f"team {team}'s statement {st.get('Sid', '')!r} reaches every EMR Serverless application",
                       resource.urn)


# --- tags and names --------------------------------------------------------------------------------

@cache
def _taggable(resource_type: str) -> bool:
    """Whether pulumi-aws's class for ``resource_type`` takes tags (it then has ``tags_all``)."""
    package, module, name = (resource_type.split(":") + ["", ""])[:3]
    if package != "aws" or not name:
        return False
    module = module.split("/")[0]
    try:
        owner = importlib.import_module("pulumi_aws" if module == "index" else f"pulumi_aws.{module}")
    except ImportError:
        return False
    return hasattr(getattr(owner, name, None), "tags_all")


def effective_tags(resource: PolicyResource | ResourceValidationArgs) -> dict:
    """Provider ``default_tags`` overlaid with the resource's own tags."""
    provider_tags = {}
    if resource.provider is not None:
        default = _json(resource.provider.props.get("defaultTags")) or {}
        provider_tags = dict(_json(default.get("tags")) or {}) if isinstance(default, dict) else {}
    return {**provider_tags, **(resource.props.get("tagsAll") or {}), **(resource.props.get("tags") or {})}


def _validate_tags(args: StackValidationArgs, report: ReportViolation) -> None:
    for resource in args.resources:
        if not _taggable(resource.resource_type):
            continue
        tags = effective_tags(resource)
        missing = [key for key in REQUIRED_TAGS if not tags.get(key)]
        team = _team_of(resource)
        if team is not None and tags.get("team") != team:
            missing.append(f"team={team}")
        if missing:
            report(f"{resource.resource_type} {resource.name} lacks tags {missing}", resource.urn)


NAME_KEYS = ("name", "bucket", "identifier", "family", "tagKey")


def _validate_unique_names(args: StackValidationArgs, report: ReportViolation) -> None:
    seen: dict[tuple[str, str], str] = {}
    for resource in args.resources:
        key = next((resource.props[k] for k in NAME_KEYS if isinstance(resource.props.get(k), str)), None)
        if key is None or not resource.urn or resource.resource_type.startswith("pulumi:"):
            continue
        if (resource.resource_type, key) in seen:
            report(f"{resource.resource_type} name {key!r} also used by {seen[(resource.resource_type, key)]}", resource.urn)
        seen[(resource.resource_type, key)] = resource.urn


def _of_type(resources: Iterable[PolicyResource], resource_type: str) -> list[PolicyResource]:
    return [r for r in resources if r.resource_type == resource_type]


MANDATORY = EnforcementLevel.MANDATORY
POLICIES = [
    ResourceValidationPolicy("encryption-everywhere", "Keys rotate; logs, topics, secrets, databases, images, "
                             "catalog, job logs and buckets are encrypted with KMS; listeners use TLS.",
                             _validate_encryption, MANDATORY),
    StackValidationPolicy("buckets-encrypted", "Every bucket has SSE-KMS default encryption.",
                          _validate_bucket_encryption, MANDATORY),
    StackValidationPolicy("nothing-public", "Every bucket blocks all public access; no database is publicly accessible.",
                          _validate_not_public, MANDATORY),
    ResourceValidationPolicy("log-retention-90-days", "Log groups keep logs exactly 90 days.",
                             _validate_retention, MANDATORY),
    ResourceValidationPolicy("no-star-on-star", "No IAM statement allows action * on resource *.",
                             _validate_no_star, MANDATORY),
    StackValidationPolicy("team-write-isolation", "Every team role explicitly denies writes to the other "
                          "teams' prefixes and is granted none.", _validate_team_isolation, MANDATORY),
    StackValidationPolicy("team-emr-scope", "A team's roles act only on EMR clusters tagged with the team and "
                          "on the team's own EMR Serverless application.", _validate_team_emr_scope, MANDATORY),
    StackValidationPolicy("resources-tagged", "Every taggable resource carries project, stage and managed-by "
                          "(via the provider's default tags), and team where a team owns it.", _validate_tags, MANDATORY),
    StackValidationPolicy("unique-names", "No two resources of one type share a physical name.",
                          _validate_unique_names, MANDATORY),
]
