"""The platform's cost data in the lake: ``<lake root>/platform/cost/...``, through the one
local-or-S3 storage layer (:mod:`emr_platform.lake.storage`)."""

from __future__ import annotations

from emr_platform.config import PlatformConfig
from emr_platform.lake.storage import PLATFORM, LakePath, open_storage

COST_PREFIX = "cost"


def cost_path(*parts: str) -> LakePath:
    """``lake://platform/cost/<parts...>``."""
    return LakePath(PLATFORM, "/".join([COST_PREFIX, *parts]))


def write_bytes(config: PlatformConfig, parts: tuple[str, ...], data: bytes, content_type: str = "application/octet-stream") -> str:
    """Write ``data`` under ``platform/cost/<parts...>``, replacing what was there; returns its URI."""
    return open_storage(config, PLATFORM).write_bytes(cost_path(*parts), data, content_type)


def read_bytes(config: PlatformConfig, parts: tuple[str, ...]) -> bytes | None:
    """The bytes under ``platform/cost/<parts...>``, or None when nothing is stored there."""
    return open_storage(config, PLATFORM).read_bytes(cost_path(*parts))
