"""EMR Serverless: job runs on each team's application.

Job run and application states are from the EMR Serverless API reference (``JobRun.state``,
``Application.state``), read 2026-11-25.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import boto3
from pydantic import Field

from emr_platform import tags
from emr_platform.settings import SettingsModel
from emr_platform.substrates.descriptor import Orphan, Substrate

NAME = "emr-serverless"
# A job run in one of these states may still use (and bill) workers.
ACTIVE_JOB_RUN_STATES = ("SUBMITTED", "PENDING", "SCHEDULED", "RUNNING", "QUEUED", "CANCELLING")
FAILED_JOB_RUN_STATES = ("FAILED", "CANCELLED")
# An application in one of these states can still run jobs (or be started to).
USABLE_APPLICATION_STATES = ("CREATING", "CREATED", "STARTING", "STARTED", "STOPPING", "STOPPED")
STARTABLE_APPLICATION_STATES = ("CREATED", "STOPPED")


class EmrServerlessSettings(SettingsModel):
    """Each team's EMR Serverless application (infra) and how job runs use it (the launcher).

    Application capacity, used by infra: warm workers are pre-initialized with the team's
    default job size and are billed while the application is started; ``max_*`` caps all job
    runs of one application together. Job runs, used by the launcher
    (``resources/emr/serverless.py``): poll interval, CloudWatch logging, log wait.
    """

    architecture: Literal["X86_64", "ARM64"] = Field(
        "X86_64", description="Instruction set of the applications: ARM64 runs on Graviton, about 20% cheaper."
    )
    release_label: str = Field("emr-7.9.0", pattern=r"^emr-\d+\.\d+\.\d+$", description="EMR release, e.g. emr-7.9.0.")
    warm_drivers: int = Field(0, ge=0, le=100, description="Pre-initialized driver workers.")
    warm_executors: int = Field(0, ge=0, le=1000, description="Pre-initialized executor workers.")
    max_vcpu: int = Field(64, ge=1, description="vCPU cap of the application.")
    max_memory_gb: int = Field(256, ge=1, description="Memory cap of the application, GiB.")
    max_disk_gb: int = Field(2000, ge=20, description="Disk cap of the application, GiB.")
    idle_timeout_minutes: int = Field(15, ge=1, le=10080, description="Auto-stop after this long without job runs.")
    poll_interval_seconds: float = Field(10, gt=0, le=300, description="Seconds between get_job_run calls.")
    cloudwatch_logging: bool = Field(True, description="Driver logs to the team's CloudWatch log group too.")
    log_wait_seconds: float = Field(60, ge=0, le=900, description="Longest wait for driver logs after a job run ends.")


def bills(service: str) -> bool:
    """Cost Explorer's SERVICE of EMR Serverless spend ("Amazon EMR Serverless")."""
    return "serverless" in service


def find_orphans(ended: Callable[[str], bool], stage: str, region: str) -> list[Orphan]:
    """Active job runs of ``stage`` tagged by the platform whose Dagster run has ``ended``."""
    found = []
    client = boto3.client("emr-serverless", region_name=region)
    for page in client.get_paginator("list_applications").paginate():
        for application in page["applications"]:
            states = [s for s in ACTIVE_JOB_RUN_STATES if s != "CANCELLING"]
            runs = client.get_paginator("list_job_runs").paginate(applicationId=application["id"], states=states)
            for run_page in runs:
                for summary in run_page["jobRuns"]:
                    job_run = client.get_job_run(applicationId=application["id"], jobRunId=summary["id"])["jobRun"]
                    run_tags = job_run.get("tags", {})
                    if tags.platform_run(run_tags, stage) and ended(run_tags[tags.RUN_ID]):
                        found.append(
                            Orphan("job-run", summary["id"], run_tags[tags.TEAM], run_tags[tags.RUN_ID], application["id"])
                        )
    return found


def stop_orphan(orphan: Orphan, region: str) -> dict[str, Any]:
    """Cancel the orphaned job run."""
    return boto3.client("emr-serverless", region_name=region).cancel_job_run(
        applicationId=orphan.parent_id, jobRunId=orphan.id
    )


SUBSTRATE = Substrate(
    name=NAME,
    config_key="emr_serverless",
    settings=EmrServerlessSettings,
    default_settings=EmrServerlessSettings(),
    launcher="resources.emr.serverless:EmrServerlessLauncher",
    needs_s3_roots=True,
    bills=bills,
    orphan_kinds=("job-run",),
    find_orphans=find_orphans,
    stop_orphan=stop_orphan,
)
