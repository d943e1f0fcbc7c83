"""Bytes in and out of the lake, local directory or ``s3://`` (boto3, so ``AWS_ENDPOINT_URL`` applies)."""

from __future__ import annotations

from pathlib import Path

import boto3

from emr_platform import lake
from emr_platform.config import PlatformConfig

COST_PREFIX = ("platform", "cost")


def cost_uri(config: PlatformConfig, *parts: str) -> str:
    """``<lake root>/platform/cost/<parts...>``: where the platform's cost data lives."""
    return lake.join(config.lake.root, *COST_PREFIX, *parts)


def write_bytes(uri: str, data: bytes, content_type: str = "application/octet-stream") -> None:
    """Write ``data`` to ``uri``, replacing what was there (atomically for local files)."""
    if uri.startswith("s3://"):
        bucket, key = lake.split_s3_uri(uri)
        boto3.client("s3").put_object(Bucket=bucket, Key=key, Body=data, ContentType=content_type)
        return
    path = Path(uri)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(data)
    partial.replace(path)


def read_bytes(uri: str) -> bytes | None:
    """The bytes at ``uri``, or None when nothing is stored there."""
    if uri.startswith("s3://"):
        bucket, key = lake.split_s3_uri(uri)
        client = boto3.client("s3")
        try:
            return client.get_object(Bucket=bucket, Key=key)["Body"].read()
        except client.exceptions.NoSuchKey:
            return None
    path = Path(uri)
    return path.read_bytes() if path.is_file() else None
