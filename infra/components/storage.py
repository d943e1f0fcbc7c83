"""The stage's buckets: lake, job artifacts and logs."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from emr_platform.lake.prefixes import S3Prefix
from infra.documents import tls_only_bucket_policy

LOG_EXPIRY_DAYS = 90
NONCURRENT_VERSION_DAYS = 30


@dataclass
class StorageArgs:
    roots: dict[str, S3Prefix]
    """Purpose (``lake``, ``artifacts``, ``logs``) to its root: a bucket, maybe with a key prefix.
    Purposes may share a bucket (under different key prefixes); it is then declared once."""
    kms_key_arn: pulumi.Input[str]
    parameter_prefix: str
    """SSM path each bucket name is published under, as ``<parameter_prefix>/<purpose>``."""


class Storage(pulumi.ComponentResource):
    """One bucket per distinct root bucket: SSE-KMS by default, public access blocked, versioned, TLS only.

    Objects under the ``logs`` root expire after 90 days (only under its key prefix, so a bucket
    shared with the lake keeps the lake); old versions everywhere after 30 days.
    """

    bucket_names: dict[str, pulumi.Output[str]]
    bucket_arns: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: StorageArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("emr-platform:storage:Storage", name, None, opts)
        self._name, self._args = name, args
        purposes_by_bucket: dict[str, list[str]] = {}
        for purpose, root in args.roots.items():
            purposes_by_bucket.setdefault(root.bucket, []).append(purpose)
        self.bucket_names, self.bucket_arns = {}, {}
        for bucket_name, purposes in purposes_by_bucket.items():
            # Named after its first purpose: a stage with one bucket per purpose keeps its resource names.
            bucket = self._bucket(f"{name}-{purposes[0]}", bucket_name, purposes)
            for purpose in purposes:
                aws.ssm.Parameter(
                    f"{name}-{purpose}-param", name=f"{args.parameter_prefix}/{purpose}", type="String",
                    insecure_value=bucket.bucket, opts=pulumi.ResourceOptions(parent=self),
                )
                self.bucket_names[purpose] = bucket.bucket
                self.bucket_arns[purpose] = bucket.arn
        self.register_outputs({"bucket_names": self.bucket_names, "bucket_arns": self.bucket_arns})

    def _bucket(self, rname: str, bucket_name: str, purposes: list[str]) -> aws.s3.Bucket:
        """The bucket and its ownership, public access block, encryption, versioning, TLS-only policy
        and lifecycle."""
        args = self._args
        bucket = aws.s3.Bucket(rname, bucket=bucket_name, opts=pulumi.ResourceOptions(parent=self))
        after_bucket = pulumi.ResourceOptions(parent=self, depends_on=[bucket])
        aws.s3.BucketOwnershipControls(
            f"{rname}-ownership", bucket=bucket.bucket, rule={"object_ownership": "BucketOwnerEnforced"},
            opts=after_bucket,
        )
        aws.s3.BucketPublicAccessBlock(
            f"{rname}-public-access",
            bucket=bucket.bucket,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=after_bucket,
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{rname}-encryption",
            bucket=bucket.bucket,
            rules=[
                {
                    "apply_server_side_encryption_by_default": {
                        "sse_algorithm": "aws:kms",
                        "kms_master_key_id": args.kms_key_arn,
                    },
                    "bucket_key_enabled": True,
                }
            ],
            opts=after_bucket,
        )
        aws.s3.BucketVersioning(
            f"{rname}-versioning", bucket=bucket.bucket, versioning_configuration={"status": "Enabled"},
            opts=after_bucket,
        )
        aws.s3.BucketPolicy(
            f"{rname}-tls-only",
            bucket=bucket.bucket,
            policy=bucket.arn.apply(lambda arn: pulumi.Output.json_dumps(tls_only_bucket_policy(arn))),
            opts=after_bucket,
        )
        rules = [
            {
                "id": "old-versions",
                "status": "Enabled",
                "filter": {},
                "noncurrent_version_expiration": {"noncurrent_days": NONCURRENT_VERSION_DAYS},
                "abort_incomplete_multipart_upload": {"days_after_initiation": 7},
            }
        ]
        if "logs" in purposes:
            logs = args.roots["logs"]
            rules.append({"id": "expire-logs", "status": "Enabled",
                          "filter": {"prefix": f"{logs.key}/"} if logs.key else {},
                          "expiration": {"days": LOG_EXPIRY_DAYS}})
        aws.s3.BucketLifecycleConfiguration(f"{rname}-lifecycle", bucket=bucket.bucket, rules=rules, opts=after_bucket)
        return bucket
