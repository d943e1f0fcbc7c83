"""The one home of the tag keys the platform puts on AWS resources, EMR job runs and Dagster runs.

Launchers tag every cluster and job run with :data:`COST_TAGS` (Cost Explorer groups spend by
them, once infra activates them as cost allocation tags), :data:`RUN_ID` (how the orphan
sensor finds work whose Dagster run has ended), :data:`CLIENT_TOKEN` (how a retried launch
adopts what it already started) and :data:`MANAGED_BY`.
"""

from __future__ import annotations

TEAM = "team"
ASSET = "asset"
SUBSTRATE = "substrate"
STAGE = "stage"
RUN_ID = "dagster-run-id"
CLIENT_TOKEN = "client-token"
MANAGED_BY = ("managed-by", "emr-platform")
USER = "user"  # who opened a Spark Connect session or submitted an ad-hoc run
HEARTBEAT = "heartbeat-at"  # epoch seconds, refreshed by the process holding a session open

# Tag keys Cost Explorer groups spend by; also the Dagster run tags the ECS run launcher
# propagates onto the run's task.
COST_TAGS = (TEAM, ASSET, SUBSTRATE, STAGE)


def platform_session(resource_tags: dict[str, str], stage: str) -> bool:
    """Whether a Spark Connect session's tags mark it as opened by ``emr-platform spark session`` in ``stage``."""
    return (
        resource_tags.get(MANAGED_BY[0]) == MANAGED_BY[1]
        and TEAM in resource_tags
        and USER in resource_tags
        and resource_tags.get(STAGE) == stage
    )


def platform_run(resource_tags: dict[str, str], stage: str) -> bool:
    """Whether a cluster's or job run's tags mark it as started by a launch of ``stage``."""
    return RUN_ID in resource_tags and TEAM in resource_tags and resource_tags.get(STAGE, stage) == stage
