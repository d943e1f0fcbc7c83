"""EMR on EC2 ("EMR Classic"): a step on a transient cluster per job, or on a shared cluster.

Cluster and step states are from the EMR API reference (``ClusterStatus.State``,
``StepStatus.State``), read 2026-11-25.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, model_validator

from emr_platform import releases
from emr_platform.settings import SettingsModel
from emr_platform.substrates.descriptor import Substrate

NAME = "emr-classic"
ACTIVE_CLUSTER_STATES = ("STARTING", "BOOTSTRAPPING", "RUNNING", "WAITING")
SHARED_CLUSTER_STATES = ("WAITING", "RUNNING")  # a long-running cluster that accepts steps
ENDED_CLUSTER_STATES = ("TERMINATING", "TERMINATED", "TERMINATED_WITH_ERRORS")
ACTIVE_STEP_STATES = ("PENDING", "RUNNING")
TERMINAL_STEP_STATES = ("COMPLETED", "CANCELLED", "FAILED", "INTERRUPTED")


class InstanceGroup(SettingsModel):
    """One instance group of an EMR Classic cluster (``RunJobFlow`` ``Instances.InstanceGroups``)."""

    role: Literal["MASTER", "CORE", "TASK"]
    instance_type: str = Field(pattern=r"^[a-z][a-z0-9-]*\.[a-z0-9]+$", description="EC2 instance type (m5.xlarge).")
    count: int = Field(1, ge=1, le=500)
    market: Literal["ON_DEMAND", "SPOT"] = "ON_DEMAND"


class InstanceFleet(SettingsModel):
    """One instance fleet of an EMR Classic cluster (``RunJobFlow`` ``Instances.InstanceFleets``)."""

    role: Literal["MASTER", "CORE", "TASK"]
    instance_types: list[str] = Field(min_length=1, description="Instance types EMR may choose from.")
    on_demand_units: int = Field(0, ge=0)
    spot_units: int = Field(0, ge=0)


class BootstrapAction(SettingsModel):
    """A script every node runs before applications start (``RunJobFlow`` ``BootstrapActions``)."""

    name: str
    path: str = Field(pattern=r"^s3://", description="s3:// URI of the script.")
    args: list[str] = Field(default_factory=list)


class ClusterProfile(SettingsModel):
    """A transient EMR Classic cluster: what ``run_job_flow`` is asked for. Give instance groups or
    fleets; ``release_label`` must run the installed pyspark's Spark (``emr_platform/releases.py``)."""

    release_label: releases.ReleaseLabel = Field(
        releases.DEFAULT_LABEL, description="EMR release of the cluster, a label of emr_platform/releases.py."
    )
    instance_groups: list[InstanceGroup] = Field(default_factory=list)
    instance_fleets: list[InstanceFleet] = Field(default_factory=list)
    bootstrap_actions: list[BootstrapAction] = Field(default_factory=list)
    managed_scaling_max_units: int | None = Field(None, ge=1, description="Managed scaling upper limit; null: off.")
    managed_scaling_min_units: int = Field(1, ge=1)
    idle_timeout_seconds: int = Field(900, ge=60, le=604800, description="Auto-termination after this long idle.")
    security_configuration: bool = Field(True, description="Use the stage's EMR security configuration (infra).")

    @model_validator(mode="after")
    def _groups_or_fleets(self) -> ClusterProfile:
        if bool(self.instance_groups) == bool(self.instance_fleets):
            raise ValueError("give either instance_groups or instance_fleets")
        roles = [g.role for g in self.instance_groups or self.instance_fleets]
        if roles.count("MASTER") != 1:
            raise ValueError("needs exactly one MASTER instance group or fleet")
        return self


class EmrClassicSettings(SettingsModel):
    """How the launcher runs jobs on EMR on EC2 (``resources/emr/classic.py``).

    ``transient``: a cluster per job from the profile named like the job size (else
    ``default``), terminated when the step ends. ``shared``: the step is added to the
    long-running cluster named ``shared_cluster`` (state WAITING or RUNNING).
    """

    mode: Literal["transient", "shared"] = "transient"
    shared_cluster: str | None = Field(None, description="Name of the long-running cluster (mode shared).")
    profiles: dict[str, ClusterProfile] = Field(default_factory=dict)
    poll_interval_seconds: float = Field(15, gt=0, le=300, description="Seconds between describe calls.")
    log_wait_seconds: float = Field(330, ge=0, le=900, description="EMR uploads step logs every 5 minutes.")

    @model_validator(mode="after")
    def _mode(self) -> EmrClassicSettings:
        if self.mode == "shared" and not self.shared_cluster:
            raise ValueError("mode shared needs shared_cluster")
        if self.mode == "transient" and "default" not in self.profiles:
            raise ValueError("mode transient needs a cluster profile named 'default'")
        return self


_STEP_MARKS = re.compile(r"\[run (?P<run_id>[0-9a-f-]{36})\] \[(?P<token>[0-9a-f]{16})\]$")


def step_name(asset: str, run_id: str, client_token: str) -> str:
    """Name of an EMR step: ``<team/domain/table> [run <run id>] [<16 chars of the client token>]``.

    Steps take no tags, so the name carries what the orphan sensor (the Dagster run) and a
    retried launch (the token) look for; see :func:`step_run_id`.
    """
    return f"{asset} [run {run_id}] [{client_token[:16]}]"


def step_run_id(name: str) -> tuple[str, str] | None:
    """``(team, Dagster run id)`` of a step named by :func:`step_name`, else None."""
    marks = _STEP_MARKS.search(name)
    return (name.split("/", 1)[0], marks["run_id"]) if marks else None


def bills(service: str) -> bool:
    """Cost Explorer's SERVICEs of EMR on EC2 spend: the EMR surcharge and the EC2 instances."""
    return "elastic mapreduce" in service or "elastic compute cloud" in service or service == "amazon emr"


def release_labels(settings: EmrClassicSettings) -> list[tuple[tuple, str]]:
    """Each cluster profile's release label, at ``profiles.<name>.release_label``."""
    return [(("profiles", name, "release_label"), profile.release_label) for name, profile in settings.profiles.items()]


SUBSTRATE = Substrate(
    name=NAME,
    config_key="emr_classic",
    settings=EmrClassicSettings,
    default_settings=None,
    needs_s3_roots=True,
    bills=bills,
    orphan_kinds=("cluster", "step"),
    release_labels=release_labels,
)
