"""EMR Serverless: job runs and Spark Connect sessions on each team's application.

Job run and application states are from the EMR Serverless API reference (``JobRun.state``,
``Application.state``), read 2026-11-25; session states (``Session.state``) and the release
that brings sessions (emr-7.13.0) from the EMR Serverless user guide, "Run interactive sessions
with Amazon EMR Serverless through Spark Connect", read 2026-11-26. The releases themselves are
``emr_platform/releases.py``'s.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from emr_platform import releases, tags
from emr_platform.settings import SettingsModel
from emr_platform.substrates.descriptor import Substrate

NAME = "emr-serverless"
# A job run in one of these states may still use (and bill) workers.
ACTIVE_JOB_RUN_STATES = ("SUBMITTED", "PENDING", "SCHEDULED", "RUNNING", "QUEUED", "CANCELLING")
FAILED_JOB_RUN_STATES = ("FAILED", "CANCELLED")
# An application in one of these states can still run jobs (or be started to).
USABLE_APPLICATION_STATES = ("CREATING", "CREATED", "STARTING", "STARTED", "STOPPING", "STOPPED")
STARTABLE_APPLICATION_STATES = ("CREATED", "STOPPED")
# Spark Connect sessions: what may still bill, what accepts queries, what has ended.
ACTIVE_SESSION_STATES = ("SUBMITTED", "STARTING", "STARTED", "IDLE", "BUSY")
READY_SESSION_STATES = ("STARTED", "IDLE", "BUSY")
ENDED_SESSION_STATES = ("FAILED", "TERMINATING", "TERMINATED")
FINAL_SESSION_STATES = ("FAILED", "TERMINATED")  # nothing more will change: billed usage is known
SESSIONS_MIN_RELEASE = (7, 13, 0)  # StartSession needs emr-7.13.0 or later (emr-spark-8.0.0 is later)


def supports_sessions(label: str) -> bool:
    """Whether applications of release ``label`` (``emr-X.Y.Z`` or ``emr-spark-X.Y.Z``, as AWS
    reports it) can run Spark Connect sessions: emr-7.13.0 and later. False for a label of
    another shape."""
    try:
        return releases.release_version(label) >= SESSIONS_MIN_RELEASE
    except ValueError:
        return False


class EmrServerlessSettings(SettingsModel):
    """Each team's EMR Serverless application (infra) and how job runs use it (the launcher).

    Application capacity, used by infra: warm workers are pre-initialized with the team's
    default job size and are billed while the application is started, idle or not (a team's
    ``warm_drivers``/``warm_executors`` override these); ``max_*`` caps all job runs and
    sessions of one application together; ``release_label`` must run the installed pyspark's
    Spark (``emr_platform/releases.py``) and be emr-7.13.0 or later when a team is ``interactive``
    (Spark Connect sessions). Job runs, used by the launcher (``resources/emr/serverless.py``):
    poll interval, CloudWatch logging, log wait.
    """

    architecture: Literal["X86_64", "ARM64"] = Field(
        "X86_64", description="Instruction set of the applications: ARM64 runs on Graviton, about 20% cheaper."
    )
    release_label: releases.ReleaseLabel = Field(
        releases.DEFAULT_LABEL, description="EMR release of the applications, a label of emr_platform/releases.py."
    )
    warm_drivers: int = Field(0, ge=0, le=100, description="Pre-initialized driver workers.")
    warm_executors: int = Field(0, ge=0, le=1000, description="Pre-initialized executor workers.")
    max_vcpu: int = Field(64, ge=1, description="vCPU cap of the application.")
    max_memory_gb: int = Field(256, ge=1, description="Memory cap of the application, GiB.")
    max_disk_gb: int = Field(2000, ge=20, description="Disk cap of the application, GiB.")
    idle_timeout_minutes: int = Field(15, ge=1, le=10080, description="Auto-stop after this long without job runs.")
    session_idle_timeout_minutes: int = Field(
        30, ge=1, le=1440, description="A Spark Connect session ends after this long without a query."
    )
    poll_interval_seconds: float = Field(10, gt=0, le=300, description="Seconds between get_job_run calls.")
    cloudwatch_logging: bool = Field(True, description="Driver logs to the team's CloudWatch log group too.")
    log_wait_seconds: float = Field(60, ge=0, le=900, description="Longest wait for driver logs after a job run ends.")


def bills(service: str) -> bool:
    """Cost Explorer's SERVICE of EMR Serverless spend ("Amazon EMR Serverless")."""
    return "serverless" in service


HEARTBEAT_SECONDS = 60.0  # how often the process holding a session open refreshes its heartbeat tag
STALE_HEARTBEAT_SECONDS = 300.0  # no heartbeat for this long: the owner's process is gone


def session_orphan_reason(session: dict[str, Any], now: float) -> str | None:
    """Why the platform's session ``session`` (``GetSession``'s ``session``) should be terminated, or None.

    ``now`` is epoch seconds. A session is orphaned when its owner's heartbeat tag
    (:data:`emr_platform.tags.HEARTBEAT`, epoch seconds) is older than
    :data:`STALE_HEARTBEAT_SECONDS`, or when it has been IDLE for longer than its own
    ``idleTimeoutMinutes``.
    """
    heartbeat = session.get("tags", {}).get(tags.HEARTBEAT)
    if heartbeat is not None and now - float(heartbeat) > STALE_HEARTBEAT_SECONDS:
        return f"its owner's process is gone (no heartbeat for {now - float(heartbeat):.0f} s)"
    idle_since, limit = session.get("idleSince"), session.get("idleTimeoutMinutes")
    if session.get("state") == "IDLE" and idle_since is not None and limit:
        idle = now - idle_since.timestamp()
        if idle > limit * 60:
            return f"idle for {idle / 60:.0f} min, past its limit of {limit} min"
    return None


def release_labels(settings: EmrServerlessSettings) -> list[tuple[tuple, str]]:
    """The applications' one release label, at ``release_label``."""
    return [(("release_label",), settings.release_label)]


SUBSTRATE = Substrate(
    name=NAME,
    config_key="emr_serverless",
    settings=EmrServerlessSettings,
    default_settings=EmrServerlessSettings(),
    needs_s3_roots=True,
    bills=bills,
    orphan_kinds=("job-run", "session"),
    release_labels=release_labels,
)
