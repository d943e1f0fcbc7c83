"""EMR Serverless Spark Connect sessions on moto, which has none of their APIs.

:func:`install` (called once before the moto server starts, ``tests/conftest.py``) adds the
routes and handlers of ``StartSession``, ``GetSession``, ``GetSessionEndpoint``,
``TerminateSession``, ``ListSessions``, ``TagResource`` (sessions) and ``GetDashboardForJobRun``
to moto's EMR Serverless service, with sessions stored on moto's backend (so a moto reset
clears them), lets ``ListJobRuns`` list nothing for an application without job runs (moto
raises ResourceNotFound there) and ``CreateApplication`` take an ``emr-spark-X.Y.Z`` release (moto
knows only ``emr-X.Y.0``). What EMR refuses is refused: a stopped application without auto-start, an
application without ``interactiveConfiguration.sessionEnabled`` or below emr-7.13.0.

Sessions stay SUBMITTED until the :class:`tests.emr.harness.EmrSimulator` runs
(:func:`tick`): it moves them SUBMITTED → STARTING → IDLE after ``session_start_seconds`` (or
FAILED with ``session_failure`` as details), serves each one's endpoint from the local Spark
Connect server (``http://localhost:<port>``, reached with a per-session token) and, once
terminated, bills ``billedResourceUtilization`` from the job size's driver and executor as
EMR Serverless does (one minute's minimum per worker).
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import uuid
from typing import Any

from moto.core.responses import ActionResult, EmptyResult
from moto.core.utils import utcnow
from moto.emrserverless import models as serverless_models
from moto.emrserverless import responses as serverless_responses
from moto.emrserverless import urls as serverless_urls
from moto.emrserverless.exceptions import ResourceNotFoundException, ValidationException

ACCOUNT, REGION = "123456789012", "us-east-1"
ACTIVE = ("SUBMITTED", "STARTING", "STARTED", "IDLE", "BUSY")

ROUTES = {
    "{0}/applications/(?P<applicationId>[^/]+)/sessions$": serverless_responses.EMRServerlessResponse.dispatch,
    "{0}/applications/(?P<applicationId>[^/]+)/sessions/(?P<sessionId>[^/]+)$": serverless_responses.EMRServerlessResponse.dispatch,
    "{0}/applications/(?P<applicationId>[^/]+)/sessions/(?P<sessionId>[^/]+)/endpoint$": serverless_responses.EMRServerlessResponse.dispatch,
    "{0}/applications/(?P<applicationId>[^/]+)/jobruns/(?P<jobRunId>[^/]+)/dashboard$": serverless_responses.EMRServerlessResponse.dispatch,
    "{0}/tags/(?P<resourceArn>.+)$": serverless_responses.EMRServerlessResponse.dispatch,
}


def install() -> None:
    """Add the session routes and handlers to moto (idempotent; before the server builds its apps)."""
    serverless_urls.url_paths.update(ROUTES)
    global _ORIGINAL_LIST_JOB_RUNS, _ORIGINAL_CREATE_APPLICATION
    if serverless_models.EMRServerlessBackend.list_job_runs is not _list_job_runs:
        _ORIGINAL_LIST_JOB_RUNS = serverless_models.EMRServerlessBackend.list_job_runs
        serverless_models.EMRServerlessBackend.list_job_runs = _list_job_runs
    if serverless_models.EMRServerlessBackend.create_application is not _create_application:
        _ORIGINAL_CREATE_APPLICATION = serverless_models.EMRServerlessBackend.create_application
        serverless_models.EMRServerlessBackend.create_application = _create_application
    for name in ("start_session", "get_session", "get_session_endpoint", "terminate_session", "list_sessions",
                 "tag_resource", "get_dashboard_for_job_run"):
        setattr(serverless_responses.EMRServerlessResponse, name, globals()[f"_{name}"])


_ORIGINAL_LIST_JOB_RUNS = _ORIGINAL_CREATE_APPLICATION = None


def _list_job_runs(self, application_id: str, *args, **kwargs):
    """moto raises ResourceNotFound for an application without job runs; EMR lists none."""
    if application_id in self.applications and application_id not in self.job_runs:
        return []
    return _ORIGINAL_LIST_JOB_RUNS(self, application_id, *args, **kwargs)


def _create_application(self, *args, release_label: str, **kwargs):
    """moto validates a release label against ``emr-X.Y.0``; EMR Serverless also runs ``emr-spark-X.Y.Z``."""
    if not re.fullmatch(r"emr-spark-\d+\.\d+\.\d+", release_label):
        return _ORIGINAL_CREATE_APPLICATION(self, *args, release_label=release_label, **kwargs)
    application = _ORIGINAL_CREATE_APPLICATION(self, *args, release_label="emr-0.0.0", **kwargs)
    application.release_label = release_label
    return application


def backend() -> Any:
    return serverless_models.emrserverless_backends[ACCOUNT][REGION]


def sessions(application_id: str | None = None) -> list[dict[str, Any]]:
    """Every stored session (of ``application_id``), as dicts shaped like ``GetSession``'s ``session``."""
    store = getattr(backend(), "platform_sessions", {})
    return [s for s in store.values() if application_id in (None, s["applicationId"])]


def enable_sessions(application_id: str) -> None:
    """What infra does for an interactive team: ``sessionEnabled`` (the release is the application's own)."""
    backend().get_application(application_id).interactive_configuration = {"sessionEnabled": True}


def _store(response: Any) -> dict[str, dict[str, Any]]:
    owner = response.emrserverless_backend
    if not hasattr(owner, "platform_sessions"):
        owner.platform_sessions = {}
    return owner.platform_sessions


def _session(response: Any) -> dict[str, Any]:
    found = _store(response).get(response._get_param("sessionId"))
    if found is None or found["applicationId"] != response._get_param("applicationId"):
        raise ResourceNotFoundException(response._get_param("sessionId"))
    return found


def _start_session(self) -> ActionResult:
    application_id = self._get_param("applicationId")
    application = self.emrserverless_backend.get_application(application_id)
    if not serverless_release_ok(application.release_label):
        raise ValidationException(f"Sessions are supported on release emr-7.13.0 and later, not {application.release_label}")
    if not (getattr(application, "interactive_configuration", None) or {}).get("sessionEnabled"):
        raise ValidationException("Sessions are not enabled for this application (interactiveConfiguration.sessionEnabled)")
    if application.state != "STARTED":
        if not (application.auto_start_configuration or {}).get("enabled", True):
            raise ValidationException(f"Application {application_id} is {application.state} and auto-start is disabled")
        application.state = "STARTED"
    token = self._get_param("clientToken")
    store = _store(self)
    for existing in store.values():
        if token and existing["clientToken"] == token:
            return ActionResult({"applicationId": application_id, "sessionId": existing["sessionId"], "arn": existing["arn"]})
    session_id = uuid.uuid4().hex[:16]
    now = utcnow()
    store[session_id] = {
        "applicationId": application_id,
        "sessionId": session_id,
        "arn": f"arn:aws:emr-serverless:{REGION}:{ACCOUNT}:/applications/{application_id}/sessions/{session_id}",
        "name": self._get_param("name") or session_id,
        "state": "SUBMITTED",
        "stateDetails": "",
        "releaseLabel": application.release_label,
        "executionRoleArn": self._get_param("executionRoleArn"),
        "createdBy": f"arn:aws:iam::{ACCOUNT}:user/testing",
        "createdAt": now,
        "updatedAt": now,
        "idleTimeoutMinutes": int(self._get_param("idleTimeoutMinutes") or 60),
        "configurationOverrides": self._get_param("configurationOverrides") or {},
        "tags": dict(self._get_param("tags") or {}),
        "clientToken": token,
        "authToken": secrets.token_hex(16),
    }
    return ActionResult({"applicationId": application_id, "sessionId": session_id, "arn": store[session_id]["arn"]})


def _public(session: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in session.items() if k not in ("clientToken", "authToken", "endpoint")}


def _get_session(self) -> ActionResult:
    return ActionResult({"session": _public(_session(self))})


def _get_session_endpoint(self) -> ActionResult:
    session = _session(self)
    if session["state"] not in ("STARTED", "IDLE", "BUSY"):
        raise ValidationException(f"Session {session['sessionId']} is {session['state']}, not ready")
    expires = utcnow() + dt.timedelta(hours=1)
    return ActionResult(
        {
            "applicationId": session["applicationId"],
            "sessionId": session["sessionId"],
            "endpoint": session["endpoint"],
            "authToken": session["authToken"],
            "authTokenExpiresAt": expires,
        }
    )


def _terminate_session(self) -> ActionResult:
    session = _session(self)
    if session["state"] in ACTIVE:
        session["state"], session["updatedAt"] = "TERMINATING", utcnow()
    return ActionResult({"applicationId": session["applicationId"], "sessionId": session["sessionId"]})


def _list_sessions(self) -> ActionResult:
    application_id = self._get_param("applicationId")
    self.emrserverless_backend.get_application(application_id)
    states = self._get_param("states") or []
    keys = ("applicationId", "sessionId", "arn", "name", "state", "stateDetails", "releaseLabel", "executionRoleArn",
            "createdBy", "createdAt", "updatedAt")
    found = [
        {k: s[k] for k in keys}
        for s in _store(self).values()
        if s["applicationId"] == application_id and (not states or s["state"] in states)
    ]
    return ActionResult({"sessions": found})


def _tag_resource(self) -> EmptyResult:
    arn = self._get_param("resourceArn")
    for session in _store(self).values():
        if session["arn"] == arn:
            session["tags"].update(self._get_param("tags") or {})
            return EmptyResult()
    raise ResourceNotFoundException(arn)


def _get_dashboard_for_job_run(self) -> ActionResult:
    application_id, job_run_id = self._get_param("applicationId"), self._get_param("jobRunId")
    self.emrserverless_backend.get_job_run(application_id, job_run_id)
    return ActionResult({"url": f"https://p-{job_run_id}.emrappui-prod.{REGION}.amazonaws.com/shs/history/{job_run_id}/jobs/"})


def serverless_release_ok(label: str) -> bool:
    """Sessions from emr-7.13.0 on, EMR's rule, read here apart from the platform's own check."""
    found = re.match(r"emr-(?:spark-)?(\d+)\.(\d+)\.(\d+)", label)
    return bool(found) and tuple(map(int, found.groups())) >= (7, 13, 0)


def tick(simulator: Any) -> None:
    """Move every stored session one step, as EMR does (see the module docstring)."""
    now = utcnow()
    for session in sessions():
        state = session["state"]
        if state == "SUBMITTED":
            session.update(state="STARTING", updatedAt=now)
        elif state == "STARTING" and (now - session["createdAt"]).total_seconds() >= simulator.session_start_seconds:
            if simulator.session_failure:
                session.update(state="FAILED", stateDetails=simulator.session_failure, endedAt=now, updatedAt=now)
                continue
            port = simulator.spark_remote.removeprefix("sc://").split("/")[0].rsplit(":", 1)[1]
            session.update(
                state="IDLE", startedAt=now, idleSince=now, updatedAt=now, endpoint=f"http://localhost:{port}"
            )
        elif state == "TERMINATING":
            _bill(session, now)
            session.update(state="TERMINATED", endedAt=now, updatedAt=now)


def _bill(session: dict[str, Any], now: dt.datetime) -> None:
    properties: dict[str, str] = {}
    for classification in session["configurationOverrides"].get("runtimeConfiguration", []):
        properties.update(classification.get("properties", {}))
    seconds = (now - session.get("startedAt", now)).total_seconds()
    workers_vcpu = int(properties.get("spark.driver.cores", 1)) + int(properties.get("spark.executor.cores", 1))
    workers_gb = sum(float(properties.get(k, "2g").rstrip("gG")) for k in ("spark.driver.memory", "spark.executor.memory"))
    hours = max(seconds, 60.0) / 3600
    session["totalExecutionDurationSeconds"] = int(round(seconds))
    session["billedResourceUtilization"] = {"vCPUHour": workers_vcpu * hours, "memoryGBHour": workers_gb * hours,
                                            "storageGBHour": 0.0}
