"""Pure builders of the EMR API requests a launch makes; nothing here calls AWS.

Shapes follow the boto3 request syntax of ``emr-serverless start_job_run`` and
``emr run_job_flow`` / ``add_job_flow_steps``. The Pipes bootstrap environment is not
added here: the Pipes clients (:mod:`resources.emr.serverless`, :mod:`resources.emr.classic`)
add it inside the Pipes session.
"""

from __future__ import annotations

import math
import shlex
from collections.abc import Mapping
from typing import Any

from emr_platform import naming, prefixes, tags
from emr_platform.launcher import Site, SparkJob
from emr_platform.settings import JobSize
from emr_platform.substrates import emr_classic, emr_serverless
from emr_platform.substrates.emr_classic import ClusterProfile, EmrClassicSettings
from emr_platform.substrates.emr_serverless import EmrServerlessSettings

# Needed on clusters that the EMR managed policies (AmazonEMRServicePolicy_v2) may manage.
EMR_MANAGED_POLICY_TAG = {"for-use-with-amazon-emr-managed-policies": "true"}
MIN_SERVERLESS_TIMEOUT_MINUTES = 5  # start_job_run refuses executionTimeoutMinutes below 5


def spark_confs(size: JobSize) -> dict[str, str]:
    """Spark properties of a job size: driver/executor cores and memory (GiB), executor counts."""
    confs = {
        "spark.driver.cores": str(size.driver_cores),
        "spark.driver.memory": f"{size.driver_memory_gb}g",
        "spark.executor.cores": str(size.executor_cores),
        "spark.executor.memory": f"{size.executor_memory_gb}g",
        "spark.dynamicAllocation.enabled": str(size.dynamic_allocation).lower(),
    }
    if size.dynamic_allocation:
        confs["spark.dynamicAllocation.minExecutors"] = str(size.min_executors)
        confs["spark.dynamicAllocation.maxExecutors"] = str(size.max_executors)
    else:
        confs["spark.executor.instances"] = str(size.max_executors)
    return confs


def conf_args(confs: Mapping[str, str]) -> list[str]:
    """``["--conf", "k=v", ...]`` in key order."""
    return [arg for key in sorted(confs) for arg in ("--conf", f"{key}={confs[key]}")]


def job_tags(job: SparkJob, client_token: str) -> dict[str, str]:
    """Tags of every cluster and job run of ``job``: team, asset, substrate, stage, run id and the token."""
    return {**job.tags, tags.CLIENT_TOKEN: client_token, tags.MANAGED_BY[0]: tags.MANAGED_BY[1]}


def log_uri(site: Site, team: str, substrate: str) -> str:
    """``s3://<logs bucket>/<logs key prefix>/<team>/<substrate>/``: where EMR writes the team's logs."""
    return prefixes.substrate_logs(site.lake, team, substrate).uri + "/"


def serverless_start_params(
    settings: EmrServerlessSettings,
    site: Site,
    job: SparkJob,
    *,
    application_id: str,
    execution_role_arn: str,
    script_uri: str,
    py_files_uri: str,
    client_token: str,
) -> dict[str, Any]:
    """``start_job_run`` request of ``job`` on the team's application."""
    submit = ["--py-files", py_files_uri, *conf_args(spark_confs(job.size))]
    monitoring: dict[str, Any] = {
        "s3MonitoringConfiguration": {"logUri": log_uri(site, job.team, emr_serverless.NAME)},
    }
    if settings.cloudwatch_logging:
        monitoring["cloudWatchLoggingConfiguration"] = {
            "enabled": True,
            "logGroupName": naming.log_group(site, job.team),
        }
    return {
        "applicationId": application_id,
        "clientToken": client_token,
        "executionRoleArn": execution_role_arn,
        "name": job.name,
        "jobDriver": {"sparkSubmit": {"entryPoint": script_uri, "sparkSubmitParameters": shlex.join(submit)}
                      | ({"entryPointArguments": list(job.args)} if job.args else {})},
        "configurationOverrides": {"monitoringConfiguration": monitoring},
        "tags": job_tags(job, client_token),
        "executionTimeoutMinutes": max(MIN_SERVERLESS_TIMEOUT_MINUTES, math.ceil(job.timeout_seconds / 60)),
    }


def step(job: SparkJob, *, script_uri: str, py_files_uri: str, client_token: str, shared: bool) -> dict[str, Any]:
    """The ``spark-submit`` step of ``job`` (cluster deploy mode: the driver runs in YARN's
    application master, which gets the Pipes environment through ``spark.yarn.appMasterEnv``).

    Its name carries the Dagster run id and the client token's first 16 characters: how the
    orphan sensor and a retried launch find it. On a shared cluster a failed step must not stop
    the cluster.
    """
    args = [
        "spark-submit",
        "--deploy-mode", "cluster",
        "--py-files", py_files_uri,
        *conf_args(spark_confs(job.size)),
        script_uri,
        *job.args,
    ]
    return {
        "Name": step_name(job, client_token),
        "ActionOnFailure": "CONTINUE" if shared else "TERMINATE_CLUSTER",
        "HadoopJarStep": {"Jar": "command-runner.jar", "Args": args},
    }


def step_name(job: SparkJob, client_token: str) -> str:
    """See :func:`emr_platform.substrates.emr_classic.step_name`."""
    return emr_classic.step_name(job.name, job.tags.get(tags.RUN_ID, "-"), client_token)


def job_flow_params(
    site: Site,
    job: SparkJob,
    profile: ClusterProfile,
    *,
    instance_profile: str,
    step_definition: dict[str, Any],
    client_token: str,
) -> dict[str, Any]:
    """``run_job_flow`` request of a transient cluster that runs ``step_definition`` and ends."""
    instances: dict[str, Any] = {"KeepJobFlowAliveWhenNoSteps": False, "TerminationProtected": False}
    if profile.instance_groups:
        instances["InstanceGroups"] = [
            {
                "Name": f"{group.role.lower()}-{group.market.lower()}",
                "InstanceRole": group.role,
                "InstanceType": group.instance_type,
                "InstanceCount": group.count,
                "Market": group.market,
            }
            for group in profile.instance_groups
        ]
    else:
        instances["InstanceFleets"] = [
            {
                "Name": fleet.role.lower(),
                "InstanceFleetType": fleet.role,
                "TargetOnDemandCapacity": fleet.on_demand_units,
                "TargetSpotCapacity": fleet.spot_units,
                "InstanceTypeConfigs": [{"InstanceType": t, "WeightedCapacity": 1} for t in fleet.instance_types],
            }
            for fleet in profile.instance_fleets
        ]
    all_tags = {**job_tags(job, client_token), **EMR_MANAGED_POLICY_TAG}
    params: dict[str, Any] = {
        "Name": f"{naming.prefix(site)}-{job.name.replace('/', '-')}"[:256],
        "ReleaseLabel": profile.release_label,
        "LogUri": log_uri(site, job.team, emr_classic.NAME),
        "Applications": [{"Name": "Spark"}],
        "Instances": instances,
        "Steps": [step_definition],
        "BootstrapActions": [
            {"Name": action.name, "ScriptBootstrapAction": {"Path": action.path, "Args": action.args}}
            for action in profile.bootstrap_actions
        ],
        "JobFlowRole": instance_profile,
        "ServiceRole": naming.emr_service_role(site),
        "AutoTerminationPolicy": {"IdleTimeout": profile.idle_timeout_seconds},
        "VisibleToAllUsers": True,
        "Tags": [{"Key": key, "Value": value} for key, value in all_tags.items()],
    }
    if profile.security_configuration:
        params["SecurityConfiguration"] = naming.security_configuration(site)
    if profile.managed_scaling_max_units:
        params["ManagedScalingPolicy"] = {
            "ComputeLimits": {
                "UnitType": "InstanceFleetUnits" if profile.instance_fleets else "Instances",
                "MinimumCapacityUnits": profile.managed_scaling_min_units,
                "MaximumCapacityUnits": profile.managed_scaling_max_units,
            }
        }
    return params


def cluster_profile(settings: EmrClassicSettings, job: SparkJob) -> ClusterProfile:
    """The cluster profile named like the job's size, else ``default``."""
    profiles = settings.profiles
    return profiles.get(job.size_name) or profiles["default"]


def session_start_params(
    settings: EmrServerlessSettings,
    site: Site,
    team: str,
    size: JobSize,
    *,
    user: str,
    application_id: str,
    execution_role_arn: str,
    client_token: str,
    heartbeat: float,
) -> dict[str, Any]:
    """``start_session`` request of a Spark Connect session of ``team`` opened by ``user``.

    The session gets the job size's Spark properties (``spark-defaults``), ends after
    ``settings.session_idle_timeout_minutes`` without a query, and is tagged team, user, stage,
    substrate, ``managed-by`` and the owner's first heartbeat (epoch seconds; see
    :data:`emr_platform.tags.HEARTBEAT`).
    """
    session_tags = {
        tags.TEAM: team,
        tags.USER: user,
        tags.STAGE: site.stage,
        tags.SUBSTRATE: emr_serverless.NAME,
        tags.MANAGED_BY[0]: tags.MANAGED_BY[1],
        tags.HEARTBEAT: str(int(heartbeat)),
    }
    return {
        "applicationId": application_id,
        "clientToken": client_token,
        "executionRoleArn": execution_role_arn,
        "name": f"{team} {user}"[:256],
        "idleTimeoutMinutes": settings.session_idle_timeout_minutes,
        "configurationOverrides": {
            "runtimeConfiguration": [{"classification": "spark-defaults", "properties": spark_confs(size)}]
        },
        "tags": session_tags,
    }
