"""EMR Serverless worker sizes: every row of AWS's table at and beyond its bounds and steps."""

from __future__ import annotations

import pytest

from emr_platform.serverless_sizes import check_worker


@pytest.mark.parametrize(
    "cores, memory_gb",
    [(1, 2), (1, 8), (2, 4), (2, 16), (4, 8), (4, 30), (8, 16), (8, 20), (8, 60), (16, 32), (16, 40), (16, 120)],
)
def test_sizes_aws_accepts(cores, memory_gb):
    assert check_worker(cores, memory_gb) is None


@pytest.mark.parametrize(
    "cores, memory_gb, field",
    [
        (1, 1, "memory_gb"), (1, 9, "memory_gb"), (2, 3, "memory_gb"), (2, 17, "memory_gb"),
        (4, 2, "memory_gb"), (4, 31, "memory_gb"), (8, 18, "memory_gb"), (8, 64, "memory_gb"),
        (16, 36, "memory_gb"), (16, 128, "memory_gb"), (3, 6, "cores"), (32, 64, "cores"),
    ],
)
def test_sizes_aws_rejects(cores, memory_gb, field):
    found = check_worker(cores, memory_gb)
    assert found is not None and found[0] == field and found[1].endswith(f"got {cores if field == 'cores' else memory_gb}")
