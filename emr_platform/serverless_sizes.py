"""The worker sizes EMR Serverless accepts: vCPU and memory of one driver or executor.

Source: "Supported worker configurations" in "Understanding application behavior in EMR
Serverless", Amazon EMR Serverless User Guide,
https://docs.aws.amazon.com/emr/latest/EMR-Serverless-UserGuide/app-behavior.html#worker-configs
(read 2026-11-26). Each worker has 1, 2, 4, 8 or 16 vCPU; its memory lies in the range of
its vCPU count, in that row's steps. Ephemeral storage (20-200 GB) is not set by the platform.
"""

from __future__ import annotations

# vCPU -> allowed memory in GB (the range's step is the row's increment).
WORKER_MEMORY_GB: dict[int, range] = {
    1: range(2, 8 + 1, 1),
    2: range(4, 16 + 1, 1),
    4: range(8, 30 + 1, 1),
    8: range(16, 60 + 1, 4),
    16: range(32, 120 + 1, 8),
}


def check_worker(cores: int, memory_gb: int) -> tuple[str, str] | None:
    """``None`` if EMR Serverless accepts a worker of ``cores`` vCPU and ``memory_gb`` GB.

    Else ``(field, "expected ..., got ...")`` where ``field`` is ``"cores"`` (no such vCPU
    count) or ``"memory_gb"`` (memory outside the vCPU count's range or steps).
    """
    if cores not in WORKER_MEMORY_GB:
        counts = ", ".join(map(str, WORKER_MEMORY_GB))
        return "cores", f"expected {counts} vCPU (EMR Serverless worker sizes), got {cores!r}"
    allowed = WORKER_MEMORY_GB[cores]
    if memory_gb not in allowed:
        return "memory_gb", (
            f"expected {allowed.start} to {allowed[-1]} GB in steps of {allowed.step} GB with {cores} vCPU "
            f"(EMR Serverless worker sizes), got {memory_gb!r}"
        )
    return None
