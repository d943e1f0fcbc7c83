"""The stage's buckets: lake, job artifacts and logs."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.documents import tls_only_bucket_policy

LOG_EXPIRY_DAYS = 90
NONCURRENT_VERSION_DAYS = 30


@dataclass
class StorageArgs:
    buckets: dict[str, str]
    """Purpose (``lake``, ``artifacts``, ``logs``) to bucket name."""
    kms_key_arn: pulumi.Input[str]
    parameter_prefix: str
    """SSM path each bucket name is published under, as ``<parameter_prefix>/<purpose>``."""


class Storage(pulumi.ComponentResource):
    """One bucket per purpose: SSE-KMS by default, public access blocked, versioned, TLS only.

    Objects of ``logs`` expire after 90 days; old versions everywhere after 30 days.
    """

    bucket_names: dict[str, pulumi.Output[str]]
    bucket_arns: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: StorageArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("emr-platform:storage:Storage", name, None, opts)
        self.bucket_names, self.bucket_arns = {}, {}
        for purpose, bucket_name in args.buckets.items():
            child = pulumi.ResourceOptions(parent=self)
            rname = f"{name}-{purpose}"
            bucket = aws.s3.Bucket(rname, bucket=bucket_name, opts=child)
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
            if purpose == "logs":
                rules.append(
                    {"id": "expire-logs", "status": "Enabled", "filter": {}, "expiration": {"days": LOG_EXPIRY_DAYS}}
                )
            aws.s3.BucketLifecycleConfiguration(f"{rname}-lifecycle", bucket=bucket.bucket, rules=rules, opts=after_bucket)
            aws.ssm.Parameter(
                f"{rname}-param", name=f"{args.parameter_prefix}/{purpose}", type="String",
                insecure_value=bucket.bucket, opts=child,
            )
            self.bucket_names[purpose] = bucket.bucket
            self.bucket_arns[purpose] = bucket.arn
        self.register_outputs({"bucket_names": self.bucket_names, "bucket_arns": self.bucket_arns})
