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
from typing import Any, ClassVar

import dagster as dg
from dagster._core.pipes.utils import open_pipes_session
from dagster_aws.pipes import PipesEMRClient

from emr_platform import discovery
from emr_platform.cost.orphans import ACTIVE_CLUSTER_STATES
from emr_platform.launcher import SparkJobError, Usage
from resources.emr import logs, params
from resources.emr.common import TERMINAL_STEP_STATES, EmrLauncher, Launch, cleanup, failure_tail, forward_logs

SUBSTRATE = "emr-classic"
ENDED_CLUSTER_STATES = {"TERMINATING", "TERMINATED", "TERMINATED_WITH_ERRORS"}
PIPES_ENV_CONF = "spark.yarn.appMasterEnv."  # the driver's environment in cluster deploy mode


class PlatformEMRClient(PipesEMRClient):
    """``PipesEMRClient`` for one step on a transient cluster (``shared_cluster_id`` None) or on a
    shared cluster, bounded by a deadline, cleaning up after itself."""

    def __init__(self, launch: Launch, client: Any, shared_cluster_id: str | None):
        super().__init__(message_reader=launch.message_reader(), client=client, wait_for_s3_logs_seconds=0)
        self.launch = launch
        self.shared_cluster_id = shared_cluster_id
        self.cluster_id: str | None = None
        self.step_id: str | None = None
        self.step: dict[str, Any] | None = None

    @property
    def settings(self):
        return self.launch.config.emr_classic

    def run(self, *, context, run_job_flow_params, extras=None) -> dg.PipesClientCompletedInvocation:
        with open_pipes_session(
            context=context, message_reader=self.message_reader, context_injector=self.context_injector, extras=extras
        ) as session:
            request = self._enrich_params(session, run_job_flow_params)
            try:
                started = self._start(context, session, request)
                completed = self._wait_for_completion(context, started)
                self._read_application_logs(context, session, completed)
                return dg.PipesClientCompletedInvocation(session, metadata=self._extract_dagster_metadata(completed))
            except BaseException:  # failure, timeout, or the run terminated from the UI
                if self.cluster_id and self.shared_cluster_id:
                    with cleanup(context, f"cancel step {self.step_id} on cluster {self.cluster_id}"):
                        self._cancel_step(context)
                raise
            finally:
                if self.cluster_id and not self.shared_cluster_id:
                    with cleanup(context, f"terminate cluster {self.cluster_id}"):
                        self._terminate_cluster(context)

    def _enrich_params(self, session, params):
        """A copy of ``params`` with the Pipes environment on the step's driver and Dagster's tags."""
        params = copy.deepcopy(params)
        env = [
            arg
            for key, value in session.get_bootstrap_env_vars().items()
            for arg in ("--conf", f"{PIPES_ENV_CONF}{key}={value}")
        ]
        for step in params["Steps"]:
            args = step["HadoopJarStep"]["Args"]
            args[1:1] = env  # right after "spark-submit"
        if "Tags" in params:
            params["Tags"] = params["Tags"] + [
                {"Key": key, "Value": value} for key, value in session.default_remote_invocation_info.items()
            ]
        return params

    def _start(self, context, session, params):
        step_name = params["Steps"][0]["Name"]
        if self.shared_cluster_id:
            self.cluster_id = self.shared_cluster_id
            self.step_id = self._find_step(step_name) or self.client.add_job_flow_steps(
                JobFlowId=self.cluster_id, Steps=params["Steps"]
            )["StepIds"][0]
        else:
            self.cluster_id = self._find_cluster(params["Name"]) or self.client.run_job_flow(**params)["JobFlowId"]
            self.step_id = self._find_step(step_name)
        response = {"JobFlowId": self.cluster_id, "StepIds": [self.step_id]}
        session.report_launched({"extras": response})
        context.log.info(f"EMR step {self.step_id} ({step_name}) on cluster {self.cluster_id}")
        return response

    def _find_cluster(self, name: str) -> str | None:
        """An active cluster this launch already started (named ``name``, tagged with its client token)."""
        for page in self.client.get_paginator("list_clusters").paginate(ClusterStates=ACTIVE_CLUSTER_STATES):
            for summary in page["Clusters"]:
                if summary["Name"] != name:
                    continue
                tags = self.client.describe_cluster(ClusterId=summary["Id"])["Cluster"].get("Tags", [])
                if {"Key": "client-token", "Value": self.launch.client_token} in tags:
                    self.launch.context.log.info(f"adopting cluster {summary['Id']} started by an earlier attempt")
                    return summary["Id"]
        return None

    def _find_step(self, name: str) -> str | None:
        states = ["PENDING", "RUNNING"] if self.shared_cluster_id else None
        kwargs = {"ClusterId": self.cluster_id} | ({"StepStates": states} if states else {})
        for page in self.client.get_paginator("list_steps").paginate(**kwargs):
            for step in page["Steps"]:
                if step["Name"] == name:
                    return step["Id"]
        return None

    def _step_state(self) -> str:
        return self.client.describe_step(ClusterId=self.cluster_id, StepId=self.step_id)["Step"]["Status"]["State"]

    def _add_log_readers(self, context, response) -> None:
        """Driver logs are read once the step has ended (no log reader polling absent targets)."""

    def _wait_for_completion(self, context, response):
        job = self.launch.job
        while True:
            self.step = self.client.describe_step(ClusterId=self.cluster_id, StepId=self.step_id)["Step"]
            state = self.step["Status"]["State"]
            if state == "COMPLETED":
                return self.client.describe_cluster(ClusterId=self.cluster_id)
            if state in TERMINAL_STEP_STATES:
                found = self._logs(self.settings.log_wait_seconds)
                forward_logs(context, found)
                details = self.step["Status"].get("FailureDetails") or {}
                reason = details.get("Message") or details.get("Reason") or "no failure details"
                raise SparkJobError(SUBSTRATE, job, f"step {self.step_id} {state}: {reason}", failure_tail(found))
            if not self.shared_cluster_id:
                cluster = self.client.describe_cluster(ClusterId=self.cluster_id)["Cluster"]
                if cluster["Status"]["State"] in ENDED_CLUSTER_STATES:
                    why = cluster["Status"].get("StateChangeReason", {}).get("Message") or "no reason given"
                    raise SparkJobError(SUBSTRATE, job, f"cluster {self.cluster_id} ended before the step: {why}")
            self.launch.check_deadline(SUBSTRATE, f"step {self.step_id}")
            time.sleep(self.settings.poll_interval_seconds)

    def _read_application_logs(self, context, session, response) -> None:
        forward_logs(context, self._logs(wait_seconds=0, cluster=response["Cluster"]))

    def _logs(self, wait_seconds: float, cluster: dict[str, Any] | None = None) -> dict[str, str]:
        """The step's logs (see :func:`logs.step_logs`); ``cluster``: its description, if at hand."""
        cluster = cluster or self.client.describe_cluster(ClusterId=self.cluster_id)["Cluster"]
        log_uri = cluster.get("LogUri")
        if not log_uri:
            return {}
        return logs.step_logs(self.launch.s3, log_uri, self.cluster_id, self.step_id, wait_seconds)

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

    def usage(self, wall_seconds: float, spot_discount: float) -> Usage:
        """Instance-seconds by ``<instance type>/<market>``: a transient cluster's instances for
        their lifetime; on a shared cluster, the step's duration times the cluster's instances
        divided by its step concurrency (an estimate of the step's share)."""
        now = dt.datetime.now(dt.timezone.utc)
        seconds: dict[str, float] = defaultdict(float)
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
                    seconds[key] += step_seconds * share
                else:
                    life = instance.get("Status", {}).get("Timeline", {})
                    seconds[key] += _seconds(life.get("CreationDateTime"), life.get("EndDateTime"), now)
        return Usage(
            substrate=SUBSTRATE,
            job_seconds=step_seconds or wall_seconds,
            instance_seconds=dict(seconds),
            spot_discount=spot_discount,
        )


def _seconds(start: dt.datetime | None, end: dt.datetime | None, now: dt.datetime) -> float:
    if start is None:
        return 0.0
    return max(0.0, ((end or now) - start).total_seconds())


class EmrClassicLauncher(EmrLauncher):
    """EMR on EC2. ``emr_classic.mode`` ``transient``: a cluster per job from the cluster
    profile named like the job size (else ``default``), with the team's instance profile, the
    stage's service role and security configuration, terminated when the step ends; ``shared``:
    the step goes to the running cluster named ``emr_classic.shared_cluster``.
    """

    substrate: ClassVar[str] = SUBSTRATE

    def run(self, launch: Launch) -> tuple[dg.PipesClientCompletedInvocation, Usage]:
        config, job = launch.config, launch.job
        settings = config.emr_classic
        emr = launch.session.client("emr")
        shared = settings.mode == "shared"
        step = params.step(
            job,
            script_uri=launch.staged.script_uri,
            py_files_uri=launch.staged.py_files_uri,
            client_token=launch.client_token,
            shared=shared,
        )
        if shared:
            request = {"Steps": [step]}
            cluster_id = shared_cluster_id(emr, settings.shared_cluster)
        else:
            request = params.job_flow_params(
                config,
                job,
                params.cluster_profile(config, job),
                instance_profile=discovery.instance_profile_name(config, job.team, iam=launch.session.client("iam")),
                step_definition=step,
                client_token=launch.client_token,
            )
            cluster_id = None
        client = PlatformEMRClient(launch, emr, cluster_id)
        started = time.monotonic()
        invocation = client.run(context=launch.context, run_job_flow_params=request, extras=job.extras)
        return invocation, client.usage(time.monotonic() - started, config.cost.spot_discount)


def shared_cluster_id(emr: Any, name: str) -> str:
    """ID of the WAITING or RUNNING cluster named ``name``; raises ``DiscoveryError`` if there is none."""
    for page in emr.get_paginator("list_clusters").paginate(ClusterStates=["WAITING", "RUNNING"]):
        for summary in page["Clusters"]:
            if summary["Name"] == name:
                return summary["Id"]
    raise discovery.DiscoveryError(f"no WAITING or RUNNING EMR cluster named {name!r} (emr_classic.shared_cluster)")
