"""Pure helpers of the program: IAM documents, subnet layout, EMR security configuration."""

from __future__ import annotations

import json
import runpy

from emr_platform.config import REPO_ROOT, load_config
from infra.components.network import subnet_cidrs
from infra.components.platform_wide import security_configuration
from infra.documents import readable_prefixes, tls_only_bucket_policy
from tests.infra.synth import synthesize


def test_readable_prefixes_are_own_upstream_and_sources():
    config = load_config("prod")
    assert readable_prefixes(config, "analytics") == [
        ("emr-platform-prod-lake", "analytics/"),
        ("emr-platform-prod-lake", "data-engineering/"),
        ("emr-platform-prod-lake", "landing/nycflights13/"),
    ]


def test_subnets_do_not_overlap():
    public, private = subnet_cidrs("10.40.0.0/16")
    assert public == ["10.40.0.0/20", "10.40.16.0/20"]
    assert private == ["10.40.128.0/20", "10.40.144.0/20"]


def test_security_configuration_encrypts_at_rest_and_in_transit():
    encryption = json.loads(security_configuration("arn:key", "s3://b/certs.zip"))["EncryptionConfiguration"]
    assert encryption["EnableAtRestEncryption"] and encryption["EnableInTransitEncryption"]
    at_rest = encryption["AtRestEncryptionConfiguration"]
    assert at_rest["S3EncryptionConfiguration"] == {"EncryptionMode": "SSE-KMS", "AwsKmsKey": "arn:key"}
    assert at_rest["LocalDiskEncryptionConfiguration"]["EnableEbsEncryption"] is True


def test_bucket_policy_denies_plain_http():
    (statement,) = tls_only_bucket_policy("arn:aws:s3:::b")["Statement"]
    assert statement["Effect"] == "Deny"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_the_cli_entry_point_declares_the_same_stack(dev):
    # What `pulumi up` runs: infra/__main__.py, executed as the CLI does (as a script).
    entry = synthesize("dev", program=lambda: runpy.run_path(str(REPO_ROOT / "infra" / "__main__.py")) and None)
    assert sorted((r.type, r.name) for r in entry.resources) == sorted((r.type, r.name) for r in dev.resources)
