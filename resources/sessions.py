"""Opening a team's interactive Spark: the warm local Spark Connect server (stage ``local``),
or a Spark Connect session on the team's EMR Serverless application (``dev``, ``prod``).

:func:`open_session` is a context manager yielding an :class:`OpenSession` whose ``remote`` is
the ``SPARK_REMOTE`` connection string; whatever it started is ended when the block exits, by
return, exception or Ctrl-C, and ``usage`` is then set. An EMR session's owner refreshes its
heartbeat tag every :data:`~emr_platform.substrates.emr_serverless.HEARTBEAT_SECONDS` so the
orphan sensor can tell a session whose owner's process is gone.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from emr_platform import tags
from emr_platform.config import PlatformConfig
from emr_platform.pricing import Usage
from emr_platform.sessions import (
    LOCAL_STAGE_SUBSTRATE,
    SessionError,
    held_usage,
    require_interactive,
    session_substrate,
    session_usage,
    spark_remote,
    warm_capacity_usage,
)
from emr_platform.substrates.emr_serverless import (
    ACTIVE_SESSION_STATES,
    ENDED_SESSION_STATES,
    FINAL_SESSION_STATES,
    HEARTBEAT_SECONDS,
    READY_SESSION_STATES,
    USABLE_APPLICATION_STATES,
    supports_sessions,
)
from resources import site_of
from resources.spark_connect import local_server

START_TIMEOUT_SECONDS = 900.0  # application start plus session start, at most
CLOSE_WAIT_SECONDS = 30.0  # how long to wait for a terminated session's billed usage
CLOSE_POLL_SECONDS = 0.5

Progress = Callable[[str], None]


@dataclass
class OpenSession:
    """A team's open interactive Spark: ``remote`` (``SPARK_REMOTE``), where it runs, the EMR
    session and application ids (None locally), and ``usage`` once closed."""

    team: str
    substrate: str
    remote: str = ""
    where: str = ""
    session_id: str | None = None
    application_id: str | None = None
    usage: Usage | None = None
    ready_seconds: float = 0.0
    warm_capacity: Usage | None = None  # the application's pre-initialized workers since it started


def open_session(
    config: PlatformConfig, team: str, user: str, progress: Progress = lambda state: None
) -> contextlib.AbstractContextManager[OpenSession]:
    """The team's session on the stage's substrate (see :func:`emr_platform.sessions.session_substrate`).

    Raises ``ConfigError`` for an undeclared team, :class:`SessionError` (one line) when the team
    may not open one there or the session fails to start; ``progress`` receives each state while
    it starts.
    """
    require_interactive(config, team)
    if session_substrate(config) == LOCAL_STAGE_SUBSTRATE:
        return local_session(config, team)
    return emr_session(config, team, user, progress)


@contextlib.contextmanager
def local_session(config: PlatformConfig, team: str) -> Iterator[OpenSession]:
    """A lease on the warm local Spark Connect server (started if needed), held while the block runs."""
    settings = config.local_spark
    server = local_server(settings)
    started = time.monotonic()
    opened = OpenSession(team, LOCAL_STAGE_SUBSTRATE)
    with server.lease() as url:
        opened.remote, opened.where = url, f"the local Spark Connect server at {url}"
        opened.ready_seconds = time.monotonic() - started
        try:
            yield opened
        finally:
            opened.usage = held_usage(settings.cores, settings.driver_memory_gb, time.monotonic() - started)


@contextlib.contextmanager
def emr_session(config: PlatformConfig, team: str, user: str, progress: Progress) -> Iterator[OpenSession]:
    """A Spark Connect session on the team's EMR Serverless application under its execution role,
    the application started first if stopped; terminated when the block exits."""
    import boto3  # the EMR modules only here: a local session starts without them
    from botocore.exceptions import BotoCoreError, ClientError

    from resources.emr.launch import DiscoveryError
    from resources.emr.serverless import execution_role_arn, serverless_application_id, session_start_params

    session = boto3.session.Session(region_name=config.platform.region)
    client = session.client("emr-serverless")
    settings = config.emr_serverless
    opened = OpenSession(team, "emr-serverless")
    started = time.monotonic()
    deadline = started + START_TIMEOUT_SECONDS
    try:
        application_id = serverless_application_id(config, team, emr_serverless=client)
        opened.application_id = application_id
        _ready_application(client, application_id, settings.poll_interval_seconds, deadline, progress)
        request = session_start_params(
            settings,
            site_of(config),
            team,
            config.job_sizes[config.team(team).job_size],
            user=user,
            application_id=application_id,
            execution_role_arn=execution_role_arn(config, team, iam=session.client("iam")),
            client_token=str(uuid.uuid4()),
            heartbeat=time.time(),
        )
    except ClientError as exc:
        raise SessionError(f"EMR Serverless: {_aws_error(exc)}") from None
    except BotoCoreError as exc:
        raise SessionError(f"AWS: {exc}; check your network and AWS credentials") from None
    except DiscoveryError as exc:
        raise SessionError(f"{exc}") from None
    try:
        started_session = client.start_session(**request)
    except ClientError as exc:
        raise SessionError(f"EMR Serverless refused to start a session: {_aws_error(exc)}") from None
    except BaseException:
        _terminate_started(client, request)
        raise
    opened.session_id = started_session["sessionId"]
    arn = started_session["arn"]
    stop = threading.Event()
    heartbeat = threading.Thread(target=_heartbeat, args=(client, arn, stop), daemon=True, name="session-heartbeat")
    try:
        _wait_ready(client, application_id, opened.session_id, settings.poll_interval_seconds, deadline, progress)
        endpoint = client.get_session_endpoint(applicationId=application_id, sessionId=opened.session_id)
        opened.remote = spark_remote(endpoint["endpoint"], endpoint.get("authToken"))
        opened.where = f"EMR Serverless session {opened.session_id} on application {application_id}"
        opened.ready_seconds = time.monotonic() - started
        application = client.get_application(applicationId=application_id)["application"]
        opened.warm_capacity = warm_capacity_usage(application, dt.datetime.now(dt.UTC))
        heartbeat.start()
        yield opened
    finally:
        stop.set()
        opened.usage = _terminate(client, application_id, opened.session_id, time.monotonic() - started, progress)


def _terminate_started(client: Any, request: dict[str, Any]) -> None:
    """After an interrupt (Ctrl-C, SIGTERM) while StartSession was in flight: EMR may have started
    the session without the answer arriving. StartSession with the same client token is
    idempotent, so asking again names that session (or starts one), which is then terminated."""
    from botocore.exceptions import BotoCoreError, ClientError

    with contextlib.suppress(ClientError, BotoCoreError):
        session_id = client.start_session(**request)["sessionId"]
        client.terminate_session(applicationId=request["applicationId"], sessionId=session_id)


def _aws_error(exc) -> str:
    error = exc.response.get("Error", {})
    return f"{error.get('Code')}: {error.get('Message', str(exc))}"


def _ready_application(client: Any, application_id: str, poll: float, deadline: float, progress: Progress) -> None:
    """Check the application can run sessions; start it if stopped and wait until STARTED."""
    from resources.emr.launch import poll_until
    from resources.emr.serverless import start_if_stopped

    application = client.get_application(applicationId=application_id)["application"]
    name, label = application.get("name", application_id), application.get("releaseLabel", "")
    if not supports_sessions(label):
        raise SessionError(
            f"application {name} runs {label}, which has no Spark Connect sessions: set emr_serverless.release_label "
            "to the configured default (emr-spark-8.0.0: sessions need emr-7.13.0 or later) and run pulumi up"
        )
    if not (application.get("interactiveConfiguration") or {}).get("sessionEnabled"):
        raise SessionError(
            f"application {name} has sessions disabled: set `interactive: true` for the team and run pulumi up"
        )
    start_if_stopped(client, application_id, application, progress)
    described = iter([application])  # the first poll is the description above

    def describe() -> dict[str, Any]:
        current = next(described, None) or client.get_application(applicationId=application_id)["application"]
        if current["state"] not in USABLE_APPLICATION_STATES:
            raise SessionError(f"application {name} is {current['state']}: {current.get('stateDetails') or 'no details'}")
        return current

    poll_until(
        describe,
        lambda current: current["state"] == "STARTED",
        interval=poll,
        until=deadline,
        timeout=lambda current: SessionError(
            f"application {name} did not start within {START_TIMEOUT_SECONDS:.0f} s (still {current['state']})"
        ),
        waiting=lambda current: progress(f"application {name}: {current['state']}"),
    )


def _wait_ready(client: Any, application_id: str, session_id: str, poll: float, deadline: float, progress: Progress) -> None:
    from resources.emr.launch import poll_until

    def described() -> dict[str, Any]:
        session = client.get_session(applicationId=application_id, sessionId=session_id)["session"]
        if session["state"] in ENDED_SESSION_STATES:
            application = client.get_application(applicationId=application_id)["application"]
            raise SessionError(
                f"session {session_id} {session['state']}: {session.get('stateDetails') or 'no details'}; "
                f"application {application.get('name', application_id)} is {application['state']}"
                + (f" ({application['stateDetails']})" if application.get("stateDetails") else "")
            )
        return session

    poll_until(
        described,
        lambda session: session["state"] in READY_SESSION_STATES,
        interval=poll,
        until=deadline,
        timeout=lambda session: SessionError(
            f"session {session_id} did not start within {START_TIMEOUT_SECONDS:.0f} s (still {session['state']})"
        ),
        waiting=lambda session: progress(f"session {session_id}: {session['state']}"),
    )


def _heartbeat(client: Any, arn: str, stop: threading.Event) -> None:
    """Refresh the session's heartbeat tag until ``stop``; a failed refresh is retried next time
    (after STALE_HEARTBEAT_SECONDS without one the orphan sensor terminates the session)."""
    from botocore.exceptions import BotoCoreError, ClientError

    while not stop.wait(HEARTBEAT_SECONDS):
        with contextlib.suppress(ClientError, BotoCoreError):
            client.tag_resource(resourceArn=arn, tags={tags.HEARTBEAT: str(int(time.time()))})


def _terminate(client: Any, application_id: str, session_id: str, held_seconds: float, progress: Progress) -> Usage:
    """Terminate the session unless it has ended; its usage once TERMINATED (else as held).

    Raises :class:`SessionError` when it cannot be terminated (e.g. the network is gone): the
    message says it ends on its own after its idle timeout, or by the orphan sensor.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    from resources.emr.launch import poll_until

    try:
        session = client.get_session(applicationId=application_id, sessionId=session_id)["session"]
        if session["state"] in ACTIVE_SESSION_STATES:
            progress(f"terminating session {session_id}")
            client.terminate_session(applicationId=application_id, sessionId=session_id)
        if session["state"] not in FINAL_SESSION_STATES:  # billed usage comes once it is TERMINATED
            session = poll_until(
                lambda: client.get_session(applicationId=application_id, sessionId=session_id)["session"],
                lambda current: current["state"] in FINAL_SESSION_STATES,
                interval=CLOSE_POLL_SECONDS,
                until=time.monotonic() + CLOSE_WAIT_SECONDS,
            )
    except (ClientError, BotoCoreError) as exc:
        reason = _aws_error(exc) if isinstance(exc, ClientError) else str(exc)
        raise SessionError(
            f"could not terminate session {session_id} ({reason}): it ends after its idle timeout, "
            "or the orphan sensor terminates it once its heartbeat stops"
        ) from None
    return session_usage(session, held_seconds)
