"""Path resolution of the storage interface: own prefix, read-only upstream prefixes, and every refusal."""

from __future__ import annotations

import pytest

from emr_platform.config import ConfigError, load_config
from emr_platform.lake.storage import LakePath, PathError, resolve

LOCAL = load_config("local")
DEV = load_config("dev")


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("", LakePath("data-science", "")),
        ("features/flight_weather", LakePath("data-science", "features/flight_weather")),
        ("./features//x/", LakePath("data-science", "features/x")),
        ("lake://data-science/models", LakePath("data-science", "models")),
        ("lake://data-engineering/core/flights_clean", LakePath("data-engineering", "core/flights_clean")),
    ],
)
def test_paths_resolve_inside_own_or_upstream_prefix(path, expected):
    assert resolve(LOCAL, "data-science", path) == expected


def test_s3_lake_uris_resolve_on_s3_stages():
    assert resolve(DEV, "analytics", "s3://emr-platform-dev-lake/data-engineering/raw/flights") == LakePath(
        "data-engineering", "raw/flights"
    )
    with pytest.raises(PathError, match="not in the lake"):
        resolve(DEV, "analytics", "s3://another-bucket/analytics/x")
    with pytest.raises(PathError, match="not in the lake"):
        resolve(LOCAL, "analytics", "s3://emr-platform-dev-lake/analytics/x")


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("../data-engineering/raw", r"'\.\.' is refused"),
        ("core/../../analytics", r"'\.\.' is refused"),
        ("lake://data-science/../analytics", r"'\.\.' is refused"),
        ("/etc/passwd", "absolute paths are refused"),
        ("~/secrets", "absolute paths are refused"),
        ("C:\\lake", "absolute paths are refused"),
        ("lake://analytics/performance", "'analytics' is not data-science's prefix"),
        ("lake://", "names no team prefix"),
        ("file:///tmp/x", "not in the lake"),
    ],
)
def test_escapes_and_other_teams_are_refused(path, message):
    with pytest.raises(PathError, match=message):
        resolve(LOCAL, "data-science", path)


def test_upstream_prefix_is_read_only():
    assert resolve(LOCAL, "analytics", "lake://data-engineering/raw").owner == "data-engineering"
    with pytest.raises(PathError, match="read-only for analytics"):
        resolve(LOCAL, "analytics", "lake://data-engineering/raw", write=True)
    # upstream grants are not symmetric
    with pytest.raises(PathError, match="not data-engineering's prefix"):
        resolve(LOCAL, "data-engineering", "lake://analytics/performance")


def test_undeclared_team_is_a_config_error():
    with pytest.raises(ConfigError, match="teams.nobody: team is not declared"):
        resolve(LOCAL, "nobody", "x")
