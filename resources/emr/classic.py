"""``EmrClassicLauncher``: a ``spark-submit`` step on EMR on EC2, through dagster-aws's
``PipesEMRClient``: on a transient cluster per job (``run_job_flow``) or on a shared
long-running cluster (``add_job_flow_steps``).

What the subclass changes in dagster-aws 0.29 (each has a regression test in tests/emr):
no boto waiters (30 s x 60 = 30 minutes) but a poll bounded only by the asset's timeout;
the step's state is checked and a failed step fails the asset with its failure reason and
the driver's stderr tail; a log URI without ``containers/`` logs is not an error; the
caller's request is never mutated; a retried launch adopts the cluster or step it already
started (EMR's RunJobFlow and AddJobFlowSteps take no client token, so the token is a tag
or part of the step name); the transient cluster is terminated, or the shared cluster's
step cancelled, on any failure, timeout or interruption; usage in instance-seconds by
instance type and market; no fixed sleeps.
"""

from __future__ import annotations

import copy
import datetime as dt
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, ClassVar

import dagster as dg
from dagster_aws.pipes import PipesEMRClient

from emr_platform import discovery, pricing, tags
from emr_platform.launcher import SparkJob, SparkJobError
from emr_platform.pricing import Usage
from emr_platform.substrates.emr_classic import (
    ACTIVE_CLUSTER_STATES,
    ACTIVE_STEP_STATES,
    ENDED_CLUSTER_STATES,
    NAME,
    SHARED_CLUSTER_STATES,
    TERMINAL_STEP_STATES,
    EmrClassicSettings,
)
from resources.emr import logs, requests
from resources.emr.launch import Deadline, EmrLauncher, Submission, cleanup, failure_tail, forward_logs, poll_until

PIPES_ENV_CONF = "spark.yarn.appMasterEnv."  # the driver's environment in cluster deploy mode


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
        """The step's logs (see :func:`logs.step_logs`); ``cluster``: its description, if at hand."""
        cluster = cluster or self.client.describe_cluster(ClusterId=self.cluster_id)["Cluster"]
        log_uri = cluster.get("LogUri")
        if not log_uri:
            return {}
        return logs.step_logs(self.s3, log_uri, self.cluster_id, self.step_id, wait_seconds)

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
        step = requests.step(
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
            request = requests.job_flow_params(
                self.site,
                job,
                requests.cluster_profile(self.settings, job),
                instance_profile=discovery.instance_profile_name(self.site, job.team, iam=submission.session.client("iam")),
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


def shared_cluster_id(emr: Any, name: str) -> str:
    """ID of the WAITING or RUNNING cluster named ``name``; raises ``DiscoveryError`` if there is none."""
    for page in emr.get_paginator("list_clusters").paginate(ClusterStates=list(SHARED_CLUSTER_STATES)):
        for summary in page["Clusters"]:
            if summary["Name"] == name:
                return summary["Id"]
    raise discovery.DiscoveryError(f"no WAITING or RUNNING EMR cluster named {name!r} (emr_classic.shared_cluster)")
