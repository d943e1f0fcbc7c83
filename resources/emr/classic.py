"""``EmrClassicLauncher``: a ``spark-submit`` step on EMR on EC2, through dagster-aws's
``PipesEMRClient``: on a transient cluster per job (``run_job_flow``) or on a shared
long-running cluster (``add_job_flow_steps``).

dagster-aws's ``run`` is kept and its hooks overridden; what that changes in dagster-aws 0.29
(each with its regression test, docs/emr.md):
no boto waiters (30 s x 60 = 30 minutes) but a poll bounded only by the asset's timeout;
the step's state is checked and a failed step fails the asset with its failure reason and
the driver's stderr tail; a log URI without ``containers/`` logs is not an error; the
caller's request is never mutated; a retried launch adopts the cluster or step it already
started (EMR's RunJobFlow and AddJobFlowSteps take no client token, so the token is a tag
or part of the step name); the transient cluster is terminated, or the shared cluster's
step cancelled, on any failure, timeout or interruption; usage in instance-seconds by
instance type and market; no fixed sleeps.

Also here, as the rest of what this platform asks of EMR on EC2: the team's instance profile,
the ``run_job_flow`` and step requests, the step's logs and the clusters and steps the orphan
sensor stops. Step logs (AWS docs, "Viewing log files"): ``<LogUri><cluster>/steps/<step>/
{stdout,stderr}.gz``; in cluster deploy mode the driver is YARN container 1 of the application
the step submitted: ``<LogUri><cluster>/containers/<application>/<container ..._01_000001>/
{stdout,stderr}.gz``.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import boto3
import dagster as dg
from botocore.exceptions import ClientError
from dagster_aws.pipes import PipesEMRClient

from emr_platform import naming, pricing, tags
from emr_platform.launcher import Site, SparkJob, SparkJobError
from emr_platform.naming import StageLike
from emr_platform.pricing import Usage
from emr_platform.lake.prefixes import S3Prefix
from emr_platform.substrates import emr_classic
from emr_platform.substrates.descriptor import Orphan
from emr_platform.substrates.emr_classic import (
    ACTIVE_CLUSTER_STATES,
    ACTIVE_STEP_STATES,
    ENDED_CLUSTER_STATES,
    NAME,
    SHARED_CLUSTER_STATES,
    TERMINAL_STEP_STATES,
    ClusterProfile,
    EmrClassicSettings,
    step_run_id,
)
from resources.emr.launch import (
    Deadline,
    DiscoveryError,
    EmrLauncher,
    Submission,
    cleanup,
    client_of,
    conf_args,
    failure_tail,
    forward_logs,
    job_tags,
    log_uri,
    poll_until,
    read_s3_text,
    spark_confs,
    wait_for,
)

PIPES_ENV_CONF = "spark.yarn.appMasterEnv."  # the driver's environment in cluster deploy mode
# Needed on clusters that the EMR managed policies (AmazonEMRServicePolicy_v2) may manage.
EMR_MANAGED_POLICY_TAG = {"for-use-with-amazon-emr-managed-policies": "true"}
APPLICATION_ID = re.compile(r"application_\d+_\d+")


class PlatformEMRClient(PipesEMRClient):
    """``PipesEMRClient`` for one step on a transient cluster (``shared_cluster_id`` None) or on a
    shared cluster, bounded by ``deadline``, cleaning up after itself.

    dagster-aws's ``run`` is kept; its hooks are overridden. ``client`` is the injected ``emr``
    boto3 client; ``job`` names the asset in errors, ``client_token`` marks what this launch
    started (adopted by a retry), ``s3`` reads the step's logs, waiting at most
    ``log_wait_seconds`` after a failure; ``spot_discount`` prices the usage, set (``usage``)
    when the metadata is extracted.
    """

    def __init__(
        self,
        *,
        client: Any,
        message_reader: dg.PipesMessageReader,
        shared_cluster_id: str | None,
        job: SparkJob,
        client_token: str,
        deadline: Deadline,
        s3: Any,
        poll_interval: float,
        log_wait_seconds: float,
        spot_discount: float = pricing.DEFAULT_SPOT_DISCOUNT,
    ):
        super().__init__(message_reader=message_reader, client=client, wait_for_s3_logs_seconds=0)
        self.shared_cluster_id = shared_cluster_id
        self.job, self.client_token, self.deadline, self.s3 = job, client_token, deadline, s3
        self.poll_interval, self.log_wait_seconds = poll_interval, log_wait_seconds
        self.spot_discount = spot_discount
        self.cluster_id: str | None = None
        self.step_id: str | None = None
        self.step: dict[str, Any] | None = None
        self.usage: Usage | None = None
        self._started_at = time.monotonic()
        self._stopped = False

    def _enrich_params(self, session, params):
        """A copy of ``params`` with the Pipes environment on the step's driver and Dagster's tags.

        dagster-aws writes into the caller's dict, and only into ``Configurations`` (the
        cluster's, which a step on a shared cluster cannot set): here the environment goes on
        the step's ``spark-submit`` as ``spark.yarn.appMasterEnv`` confs.
        """
        params = copy.deepcopy(params)
        env = [
            arg
            for key, value in session.get_bootstrap_env_vars().items()
            for arg in ("--conf", f"{PIPES_ENV_CONF}{key}={value}")
        ]
        for step in params["Steps"]:
            args = step["HadoopJarStep"]["Args"]
            args[1:1] = env  # right after "spark-submit"
        if "Instances" in params:  # a job flow (steps take no tags): Dagster's run tags, Tags given or not
            params["Tags"] = params.get("Tags", []) + [
                {"Key": key, "Value": value} for key, value in session.default_remote_invocation_info.items()
            ]
        return params

    def _start(self, context, session, params) -> dict[str, Any]:
        """Start the cluster (or add the step), unless an earlier attempt of this launch did.

        Interrupted while the request was in flight, what it started is found by its name and
        client token and stopped.
        """
        self._started_at = time.monotonic()
        try:
            self._submit(context, session, params)
        except BaseException:
            with cleanup(context, f"find what the request for {params['Steps'][0]['Name']} started"):
                self._adopt_unanswered(params)
            self._terminate(context, {})
            raise
        return {"JobFlowId": self.cluster_id, "StepIds": [self.step_id]}

    def _add_log_readers(self, context, response) -> None:
        """None: dagster-aws tails each step's logs in S3 while it runs; here they are read once, at the end."""

    def _wait_for_completion(self, context, response) -> dict[str, Any]:
        """``{"Cluster": ...}`` once the step completed. A transient cluster is then terminated;
        on failure, timeout or interruption (the run terminated from the UI) the transient
        cluster is terminated or the shared cluster's step cancelled, and :class:`SparkJobError`
        raised."""
        try:
            cluster = self._wait(context)
        except BaseException:
            self._terminate(context, response)
            raise
        if not self.shared_cluster_id:
            self._terminate(context, response)
        return {"Cluster": cluster}

    def _read_application_logs(self, context, session, response) -> None:
        """The step's and the driver's logs, read once into the asset's log (no fixed wait, and a
        cluster without ``containers/`` logs has none: no ``KeyError: 'Contents'``)."""
        forward_logs(context, self._logs(wait_seconds=0, cluster=response["Cluster"]))

    def _extract_dagster_metadata(self, response) -> dict[str, Any]:
        """dagster-aws's metadata (cluster id, log URI, console), the step's links, and the usage
        with its cost (:meth:`emr_platform.pricing.Usage.metadata`)."""
        cluster = response["Cluster"]
        self.usage = self.usage_of(time.monotonic() - self._started_at)
        return {**super()._extract_dagster_metadata(response), **self._links(cluster), **self.usage.metadata()}

    def _terminate(self, context, start_response) -> None:
        """Terminate the transient cluster, or cancel the step on the shared cluster, unless it has
        ended; a refusal is logged, never raised over the job's own error. Once per launch: the
        stock ``run`` asks again after an interrupt this client has already handled."""
        if self._stopped:
            return
        self._stopped = True
        if self.shared_cluster_id:
            with cleanup(context, f"cancel step {self.step_id or ''} on cluster {self.shared_cluster_id}"):
                self._cancel_step(context)
        elif self.cluster_id:
            with cleanup(context, f"terminate cluster {self.cluster_id}"):
                self._terminate_cluster(context)

    def _submit(self, context, session, params) -> None:
        step_name = params["Steps"][0]["Name"]
        if self.shared_cluster_id:
            self.cluster_id = self.shared_cluster_id
            self.step_id = self._find_step(step_name) or self.client.add_job_flow_steps(
                JobFlowId=self.cluster_id, Steps=params["Steps"]
            )["StepIds"][0]
        else:
            self.cluster_id = self._find_cluster(params["Name"])
            if self.cluster_id:
                context.log.info(f"adopting cluster {self.cluster_id} started by an earlier attempt")
            else:
                self.cluster_id = self.client.run_job_flow(**params)["JobFlowId"]
            self.step_id = self._find_step(step_name)
        session.report_launched({"extras": {"JobFlowId": self.cluster_id, "StepIds": [self.step_id]}})
        console = self._links({})["emr_console"].url
        context.log.info(f"EMR step {self.step_id} ({step_name}) on cluster {self.cluster_id}: {console}")

    def _links(self, cluster: dict[str, Any]) -> dict[str, Any]:
        """Where to look at the step: its log folder in S3 and the cluster's page (with its
        persistent Spark UI) in the EMR console."""
        region = self.client.meta.region_name
        links: dict[str, Any] = {
            "emr_console": dg.MetadataValue.url(
                f"https://{region}.console.aws.amazon.com/emr/home?region={region}#/clusterDetails/{self.cluster_id}"
            )
        }
        if cluster.get("LogUri"):
            links["step_logs"] = dg.MetadataValue.path(
                f"{cluster['LogUri'].rstrip('/')}/{self.cluster_id}/steps/{self.step_id}/"
            )
        return links

    def _adopt_unanswered(self, request: dict[str, Any]) -> None:
        """Learn the cluster or step a request started whose answer never came (the run was
        interrupted mid-call), by its name and client token, so that cleanup can stop it."""
        if self.shared_cluster_id:
            self.cluster_id = self.shared_cluster_id
            self.step_id = self.step_id or self._find_step(request["Steps"][0]["Name"])
        elif not self.cluster_id:
            self.cluster_id = self._find_cluster(request["Name"])

    def _find_cluster(self, name: str) -> str | None:
        """An active cluster this launch already started (named ``name``, tagged with its client token)."""
        for page in self.client.get_paginator("list_clusters").paginate(ClusterStates=list(ACTIVE_CLUSTER_STATES)):
            for summary in page["Clusters"]:
                if summary["Name"] != name:
                    continue
                cluster_tags = self.client.describe_cluster(ClusterId=summary["Id"])["Cluster"].get("Tags", [])
                if {"Key": tags.CLIENT_TOKEN, "Value": self.client_token} in cluster_tags:
                    return summary["Id"]
        return None

    def _find_step(self, name: str) -> str | None:
        states = list(ACTIVE_STEP_STATES) if self.shared_cluster_id else None
        kwargs = {"ClusterId": self.cluster_id} | ({"StepStates": states} if states else {})
        for page in self.client.get_paginator("list_steps").paginate(**kwargs):
            for step in page["Steps"]:
                if step["Name"] == name:
                    return step["Id"]
        return None

    def _step_state(self) -> str:
        return self.client.describe_step(ClusterId=self.cluster_id, StepId=self.step_id)["Step"]["Status"]["State"]

    def _wait(self, context) -> dict[str, Any]:
        """The cluster's description once the step completed; raises :class:`SparkJobError` when the
        step ends otherwise, or a transient cluster ends before it."""
        what = f"step {self.step_id}"
        self.step = poll_until(
            self._poll_step,
            lambda step: step["Status"]["State"] in TERMINAL_STEP_STATES,
            interval=self.poll_interval,
            until=self.deadline.at,
            timeout=lambda step: self.deadline.expired(what),
        )
        state = self.step["Status"]["State"]
        if state == "COMPLETED":
            return self.client.describe_cluster(ClusterId=self.cluster_id)["Cluster"]
        found = self._logs(self.log_wait_seconds)
        forward_logs(context, found)
        details = self.step["Status"].get("FailureDetails") or {}
        reason = details.get("Message") or details.get("Reason") or "no failure details"
        raise SparkJobError(NAME, self.job, f"step {self.step_id} {state}: {reason}", failure_tail(found))

    def _poll_step(self) -> dict[str, Any]:
        step = self.client.describe_step(ClusterId=self.cluster_id, StepId=self.step_id)["Step"]
        if not self.shared_cluster_id and step["Status"]["State"] not in TERMINAL_STEP_STATES:
            cluster = self.client.describe_cluster(ClusterId=self.cluster_id)["Cluster"]
            if cluster["Status"]["State"] in ENDED_CLUSTER_STATES:
                # The step may have ended between the two calls, taking the cluster with it
                # (ActionOnFailure TERMINATE_CLUSTER): its own state and reason come first.
                step = self.client.describe_step(ClusterId=self.cluster_id, StepId=self.step_id)["Step"]
                if step["Status"]["State"] in TERMINAL_STEP_STATES:
                    return step
                why = cluster["Status"].get("StateChangeReason", {}).get("Message") or "no reason given"
                raise SparkJobError(NAME, self.job, f"cluster {self.cluster_id} ended before the step: {why}")
        return step

    def _logs(self, wait_seconds: float, cluster: dict[str, Any] | None = None) -> dict[str, str]:
        """The step's logs (see :func:`step_logs`); ``cluster``: its description, if at hand."""
        cluster = cluster or self.client.describe_cluster(ClusterId=self.cluster_id)["Cluster"]
        log_uri = cluster.get("LogUri")
        if not log_uri:
            return {}
        return step_logs(self.s3, log_uri, self.cluster_id, self.step_id, wait_seconds)

    def _cancel_step(self, context) -> None:
        if self.step_id and self._step_state() not in TERMINAL_STEP_STATES:
            context.log.warning(f"cancelling step {self.step_id} on shared cluster {self.cluster_id}")
            self.client.cancel_steps(
                ClusterId=self.cluster_id, StepIds=[self.step_id], StepCancellationOption="SEND_INTERRUPT"
            )

    def _terminate_cluster(self, context) -> None:
        state = self.client.describe_cluster(ClusterId=self.cluster_id)["Cluster"]["Status"]["State"]
        if state not in ENDED_CLUSTER_STATES:
            context.log.info(f"terminating cluster {self.cluster_id} ({state})")
            self.client.terminate_job_flows(JobFlowIds=[self.cluster_id])

    def usage_of(self, wall_seconds: float) -> Usage:
        """Instance-seconds by ``<instance type>/<market>``, and per instance: a transient cluster's
        instances for their lifetime (each billed at least a minute); on a shared cluster, the
        step's duration times the cluster's instances divided by its step concurrency (an
        estimate of the step's share, which AWS bills no minimum for). ``storage_gb_hours`` are
        the EBS volumes EMR attaches by default to those instances, over the same time."""
        now = dt.datetime.now(dt.timezone.utc)
        seconds: dict[str, float] = defaultdict(float)
        instances: list[tuple[str, float]] = []
        timeline = (self.step or {}).get("Status", {}).get("Timeline", {})
        step_seconds = _seconds(timeline.get("StartDateTime"), timeline.get("EndDateTime"), now)
        share = 1.0
        if self.shared_cluster_id:
            cluster = self.client.describe_cluster(ClusterId=self.cluster_id)["Cluster"]
            share = 1.0 / max(1, cluster.get("StepConcurrencyLevel") or 1)
        for page in self.client.get_paginator("list_instances").paginate(ClusterId=self.cluster_id):
            for instance in page["Instances"]:
                key = f"{instance['InstanceType']}/{instance.get('Market') or 'ON_DEMAND'}"
                if self.shared_cluster_id:
                    held = step_seconds * share
                else:
                    life = instance.get("Status", {}).get("Timeline", {})
                    held = _seconds(life.get("CreationDateTime"), life.get("EndDateTime"), now)
                seconds[key] += held
                instances.append((key, held))
        try:
            storage = pricing.ebs_gb_hours(tuple(instances))
        except ValueError:  # a type without a price: cost_metadata reports it as cost_error
            storage = 0.0
        return Usage(
            substrate=NAME,
            job_seconds=step_seconds or wall_seconds,
            storage_gb_hours=storage,
            instance_seconds=dict(seconds),
            spot_discount=self.spot_discount,
            instances=tuple(instances),
            minimum_applies=not self.shared_cluster_id,
        )


def _seconds(start: dt.datetime | None, end: dt.datetime | None, now: dt.datetime) -> float:
    if start is None:
        return 0.0
    return max(0.0, ((end or now) - start).total_seconds())


@dataclass(frozen=True)
class EmrClassicLauncher(EmrLauncher):
    """EMR on EC2. ``emr_classic.mode`` ``transient``: a cluster per job from the cluster
    profile named like the job size (else ``default``), with the team's instance profile, the
    stage's service role and security configuration, terminated when the step ends; ``shared``:
    the step goes to the running cluster named ``emr_classic.shared_cluster``.
    """

    substrate: ClassVar[str] = NAME
    settings: EmrClassicSettings

    def pipes_client(self, context, job: SparkJob, submission: Submission) -> tuple[PlatformEMRClient, dict[str, Any]]:
        emr = submission.session.client("emr")
        shared = self.settings.mode == "shared"
        step = step_params(
            job,
            script_uri=submission.staged.script_uri,
            py_files_uri=submission.staged.py_files_uri,
            client_token=submission.client_token,
            shared=shared,
        )
        if shared:
            request = {"Steps": [step]}
            cluster_id = shared_cluster_id(emr, self.settings.shared_cluster)
        else:
            request = job_flow_params(
                self.site,
                job,
                cluster_profile(self.settings, job),
                instance_profile=instance_profile_name(self.site, job.team, iam=submission.session.client("iam")),
                step_definition=step,
                client_token=submission.client_token,
            )
            cluster_id = None
        client = PlatformEMRClient(
            client=emr,
            message_reader=submission.message_reader,
            shared_cluster_id=cluster_id,
            job=job,
            client_token=submission.client_token,
            deadline=submission.deadline,
            s3=submission.s3,
            poll_interval=self.settings.poll_interval_seconds,
            log_wait_seconds=self.settings.log_wait_seconds,
            spot_discount=self.site.spot_discount,
        )
        return client, {"run_job_flow_params": request}

    @classmethod
    def find_orphans(cls, ended: Callable[[str], bool], stage: str, region: str) -> list[Orphan]:
        """Active clusters of ``stage`` tagged by the platform whose Dagster run has ``ended``, and
        pending or running steps (on any active cluster) named by a launch whose run has ended."""
        found = []
        emr = boto3.client("emr", region_name=region)
        for page in emr.get_paginator("list_clusters").paginate(ClusterStates=list(ACTIVE_CLUSTER_STATES)):
            for summary in page["Clusters"]:
                cluster = emr.describe_cluster(ClusterId=summary["Id"])["Cluster"]
                cluster_tags = {t["Key"]: t["Value"] for t in cluster.get("Tags", [])}
                if tags.platform_run(cluster_tags, stage) and ended(cluster_tags[tags.RUN_ID]):
                    found.append(Orphan("cluster", summary["Id"], cluster_tags[tags.TEAM], cluster_tags[tags.RUN_ID]))
                    continue
                steps = emr.get_paginator("list_steps").paginate(ClusterId=summary["Id"], StepStates=list(ACTIVE_STEP_STATES))
                for step_page in steps:
                    for step in step_page["Steps"]:
                        marks = step_run_id(step["Name"])
                        if marks and ended(marks[1]):
                            found.append(Orphan("step", step["Id"], marks[0], marks[1], summary["Id"]))
        return found

    @classmethod
    def stop_orphan(cls, orphan: Orphan, region: str) -> dict[str, Any]:
        """Terminate the orphaned cluster, or cancel the orphaned step."""
        emr = boto3.client("emr", region_name=region)
        if orphan.kind == "cluster":
            return emr.terminate_job_flows(JobFlowIds=[orphan.id])
        return emr.cancel_steps(ClusterId=orphan.parent_id, StepIds=[orphan.id], StepCancellationOption="SEND_INTERRUPT")


def shared_cluster_id(emr: Any, name: str) -> str:
    """ID of the WAITING or RUNNING cluster named ``name``; raises ``DiscoveryError`` if there is none."""
    for page in emr.get_paginator("list_clusters").paginate(ClusterStates=list(SHARED_CLUSTER_STATES)):
        for summary in page["Clusters"]:
            if summary["Name"] == name:
                return summary["Id"]
    raise DiscoveryError(f"no WAITING or RUNNING EMR cluster named {name!r} (emr_classic.shared_cluster)")


def instance_profile_name(config: StageLike, team: str, iam: Any | None = None) -> str:
    """Name of the team's EMR Classic instance profile, checked to exist; raises ``DiscoveryError`` if not."""
    name = naming.instance_profile(config, team)
    try:
        client_of("iam", config, iam).get_instance_profile(InstanceProfileName=name)
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "NoSuchEntity":
            raise DiscoveryError(f"no IAM instance profile named {name}") from None
        raise
    return name


def step_params(job: SparkJob, *, script_uri: str, py_files_uri: str, client_token: str, shared: bool) -> dict[str, Any]:
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
        "LogUri": log_uri(site, job.team, NAME),
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


def step_logs(s3: Any, log_uri: str, cluster_id: str, step_id: str, wait_seconds: float) -> dict[str, str]:
    """``{"step stdout" | "step stderr" | "driver stdout" | "driver stderr": text}`` of an EMR step,
    whichever exist. The driver's logs are found through the application ID the step's stderr names;
    a cluster without ``containers/`` logs simply has none (no ``KeyError: 'Contents'``)."""
    base = f"{log_uri.rstrip('/')}/{cluster_id}"
    found: dict[str, str] = {}
    stderr = wait_for(lambda: read_s3_text(s3, f"{base}/steps/{step_id}/stderr.gz"), wait_seconds)
    if stderr is not None:
        found["step stderr"] = stderr
    stdout = read_s3_text(s3, f"{base}/steps/{step_id}/stdout.gz")
    if stdout is not None:
        found["step stdout"] = stdout
    application = APPLICATION_ID.search(stderr or "")
    if application:
        containers = S3Prefix.from_uri(f"{base}/containers/{application.group()}/")
        bucket, prefix = containers.bucket, containers.key
        listing = s3.list_objects_v2(Bucket=bucket, Prefix=prefix + "/")
        for item in listing.get("Contents", []):
            key = item["Key"]
            container, name = key.split("/")[-2:]
            if container.endswith("_01_000001") and name in ("stdout.gz", "stderr.gz"):
                text = read_s3_text(s3, f"s3://{bucket}/{key}")
                if text is not None:
                    found[f"driver {name.removesuffix('.gz')}"] = text
    return found
