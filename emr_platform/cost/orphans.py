"""EMR clusters, EMR steps and EMR Serverless job runs of this platform whose Dagster run has ended.

Launchers tag what they start with ``dagster-run-id``, ``team`` and ``stage``
(``emr_platform.factory``); a step, which takes no tags, carries the run id in its name
(``emr_platform.naming.step_name``), so steps on shared clusters are found too.
A resource is an orphan when the Dagster instance knows its run
and that run has finished; a run id the instance does not know is left alone (it may belong
to another Dagster deployment sharing the account, e.g. a colleague's dev instance).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
import dagster as dg

from emr_platform import naming

RUN_TAG = "dagster-run-id"
ACTIVE_CLUSTER_STATES = ["STARTING", "BOOTSTRAPPING", "RUNNING", "WAITING"]
ACTIVE_JOB_RUN_STATES = ["SUBMITTED", "PENDING", "SCHEDULED", "RUNNING", "QUEUED"]


@dataclass(frozen=True)
class Orphan:
    """``kind`` is ``cluster`` (``id`` = job flow id), ``step`` (``id`` = step id on cluster
    ``parent_id``) or ``job-run`` (``id`` = job run id in application ``parent_id``)."""

    kind: str
    id: str
    team: str
    run_id: str
    parent_id: str | None = None

    def describe(self) -> str:
        parent = {"step": "cluster", "job-run": "application"}.get(self.kind)
        where = f" of {parent} {self.parent_id}" if self.parent_id else ""
        return f"{self.kind} {self.id}{where} (team {self.team}, Dagster run {self.run_id})"


def run_has_ended(instance: dg.DagsterInstance) -> Callable[[str], bool]:
    """True for a run id the instance knows and whose run is finished."""

    def ended(run_id: str) -> bool:
        run = instance.get_run_by_id(run_id)
        return run is not None and run.is_finished

    return ended


def _platform_tags(tags: dict[str, str], stage: str) -> bool:
    return RUN_TAG in tags and "team" in tags and tags.get("stage", stage) == stage


def find_orphans(ended: Callable[[str], bool], stage: str, region: str) -> list[Orphan]:
    """Active clusters and job runs of ``stage`` tagged by the platform whose run has ``ended``."""
    found = []
    emr = boto3.client("emr", region_name=region)
    for page in emr.get_paginator("list_clusters").paginate(ClusterStates=ACTIVE_CLUSTER_STATES):
        for summary in page["Clusters"]:
            cluster = emr.describe_cluster(ClusterId=summary["Id"])["Cluster"]
            tags = {t["Key"]: t["Value"] for t in cluster.get("Tags", [])}
            if _platform_tags(tags, stage) and ended(tags[RUN_TAG]):
                found.append(Orphan("cluster", summary["Id"], tags["team"], tags[RUN_TAG]))
                continue
            steps = emr.get_paginator("list_steps").paginate(ClusterId=summary["Id"], StepStates=["PENDING", "RUNNING"])
            for step_page in steps:
                for step in step_page["Steps"]:
                    marks = naming.step_run_id(step["Name"])
                    if marks and ended(marks[1]):
                        found.append(Orphan("step", step["Id"], marks[0], marks[1], summary["Id"]))
    serverless = boto3.client("emr-serverless", region_name=region)
    for page in serverless.get_paginator("list_applications").paginate():
        for application in page["applications"]:
            runs = serverless.get_paginator("list_job_runs").paginate(applicationId=application["id"], states=ACTIVE_JOB_RUN_STATES)
            for run_page in runs:
                for summary in run_page["jobRuns"]:
                    job_run = serverless.get_job_run(applicationId=application["id"], jobRunId=summary["id"])["jobRun"]
                    tags = job_run.get("tags", {})
                    if _platform_tags(tags, stage) and ended(tags[RUN_TAG]):
                        found.append(
                            Orphan("job-run", summary["id"], tags["team"], tags[RUN_TAG], application["id"])
                        )
    return found


def stop(orphan: Orphan, region: str) -> dict[str, Any]:
    """Terminate the cluster, cancel the step or cancel the job run; returns the AWS response."""
    if orphan.kind == "cluster":
        return boto3.client("emr", region_name=region).terminate_job_flows(JobFlowIds=[orphan.id])
    if orphan.kind == "step":
        return boto3.client("emr", region_name=region).cancel_steps(
            ClusterId=orphan.parent_id, StepIds=[orphan.id], StepCancellationOption="SEND_INTERRUPT"
        )
    return boto3.client("emr-serverless", region_name=region).cancel_job_run(
        applicationId=orphan.parent_id, jobRunId=orphan.id
    )
