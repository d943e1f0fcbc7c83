"""Interactive Spark for a team: who may open a session where, its Spark Connect address, its
usage, and the ``lake`` helper a session's prompt binds. No AWS calls and no Spark here; the
session openers are in ``resources/sessions.py``, the command in ``apps``.

EMR Serverless facts (release emr-7.13.0 and later, ``GetSessionEndpoint``'s endpoint URL and
time-limited token, ``billedResourceUtilization``) are from the EMR Serverless user guide, "Run
interactive sessions with Amazon EMR Serverless through Spark Connect", and the API reference
(``Session``, ``GetSessionEndpoint``), read 2026-11-26.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlparse

from emr_platform import lake
from emr_platform.lake import storage
from emr_platform.config import CONFIG_FILE, PlatformConfig
from emr_platform.pricing import Usage
from emr_platform.substrates import emr_serverless

INTERACTIVE = "interactive"  # the cost report's line for sessions and ad-hoc runs; their records' domain
LOCAL_STAGE_SUBSTRATE = "local"
FREE_DISK_GB = 20  # per worker; only disk above it is billed (EMR Serverless pricing, read 2026-11-26)


class SessionError(RuntimeError):
    """A session could not be opened or was lost; the message is one line naming what to fix."""


def session_substrate(config: PlatformConfig) -> str:
    """Where a stage's sessions run: ``local`` when the stage forces local Spark, else ``emr-serverless``."""
    return LOCAL_STAGE_SUBSTRATE if config.execution.force_substrate == "local" else emr_serverless.NAME


def require_interactive(config: PlatformConfig, team: str) -> None:
    """Raise ``ConfigError`` for an undeclared team and :class:`SessionError` when the stage's
    sessions run on EMR Serverless and ``team`` is not ``interactive`` (or the release is too old)."""
    settings = config.team(team)
    if session_substrate(config) == LOCAL_STAGE_SUBSTRATE:
        return
    if not settings.interactive:
        raise SessionError(
            f"team {team} has no Spark Connect sessions on EMR Serverless: set `interactive: true` under "
            f"teams.{team} in {CONFIG_FILE} and run `pulumi up --stack {config.stage}`"
        )
    label = config.emr_serverless.release_label
    if not emr_serverless.supports_sessions(label):
        raise SessionError(f"emr_serverless.release_label {label} has no Spark Connect sessions: use emr-7.13.0 or later")


def spark_remote(endpoint: str, token: str | None) -> str:
    """The ``SPARK_REMOTE`` connection string (``sc://host:port/;use_ssl=true;token=...``) of a
    session endpoint URL and its auth token.

    An ``https://`` endpoint (EMR Serverless) is reached over TLS on its port (default 443).
    An ``http://localhost`` endpoint (the EMR simulator of the tests) is reached over gRPC's
    local credentials, which pyspark uses for ``localhost`` with a token and no TLS. Any other
    ``http://`` endpoint is refused: a token must not travel in clear text.
    """
    url = urlparse(endpoint if "://" in endpoint else f"https://{endpoint}")
    if url.scheme not in ("https", "sc", "http") or not url.hostname:
        raise SessionError(f"session endpoint {endpoint!r} is not an https:// URL")
    if url.scheme == "http" and url.hostname != "localhost":
        raise SessionError(f"session endpoint {endpoint!r} is not TLS; refusing to send its token in clear text")
    tls = url.scheme in ("https", "sc")
    port = url.port or (443 if tls else 15002)
    params = (["use_ssl=true"] if tls else []) + ([f"token={token}"] if token else [])
    return f"sc://{url.hostname}:{port}/" + "".join(f";{p}" for p in params)


def session_usage(session: dict[str, Any], held_seconds: float) -> Usage:
    """Usage of an EMR Serverless session from ``GetSession``'s ``billedResourceUtilization``
    (vCPU-hours, memory and storage GB-hours; one minute's minimum per worker), its
    ``totalExecutionDurationSeconds`` else ``held_seconds`` (seconds the prompt held it)."""
    billed = session.get("billedResourceUtilization") or {}
    return Usage(
        substrate=emr_serverless.NAME,
        job_seconds=float(session.get("totalExecutionDurationSeconds") or held_seconds),
        vcpu_hours=float(billed.get("vCPUHour", 0.0)),
        memory_gb_hours=float(billed.get("memoryGBHour", 0.0)),
        storage_gb_hours=float(billed.get("storageGBHour", 0.0)),
        billed=bool(billed),
    )


def held_usage(cores: int, memory_gb: int, seconds: float) -> Usage:
    """Usage of the local Spark Connect server held ``seconds`` by a session: ``cores`` vCPU and
    ``memory_gb`` GiB of driver, priced as its EMR Serverless equivalent like local jobs."""
    return Usage(
        substrate=LOCAL_STAGE_SUBSTRATE,
        job_seconds=seconds,
        vcpu_hours=cores * seconds / 3600,
        memory_gb_hours=memory_gb * seconds / 3600,
    )


class TeamLake:
    """The team's tables, for a session's prompt: ``lake.table("data-engineering/core/flights_clean")``.

    A name is ``<team>/<domain>/<table>`` (or ``<domain>/<table>`` of the session's own team).
    Names outside the team's own prefix and its ``upstream_teams`` are refused with
    :class:`emr_platform.lake.storage.PathError` before Spark reads anything.
    """

    def __init__(self, spark: Any, config: PlatformConfig, team: str):
        self.spark, self.config, self.team = spark, config, team

    def uri(self, name: str) -> str:
        """The lake URI (``s3://...`` or a local directory) of table ``name``, checked readable."""
        first = name.strip().strip("/").split("/", 1)[0]
        path = name if "://" in name else (f"lake://{name}" if first in self.config.teams else name)
        target = storage.resolve(self.config, self.team, path)
        prefix = lake.team_prefix(self.config, target.owner)
        return lake.join(prefix, target.key) if target.key else prefix

    def table(self, name: str) -> Any:
        """Table ``name`` (parquet, as the platform writes assets) as a Spark DataFrame."""
        return self.spark.read.parquet(self.uri(name))

    def readable(self) -> list[str]:
        """The teams whose tables this team may read: itself, then its upstream teams."""
        return [self.team, *self.config.team(self.team).upstream_teams]

    def __repr__(self) -> str:
        return f"<lake of team {self.team}: lake.table('<team>/<domain>/<table>') reads {', '.join(self.readable())}>"


def warm_capacity_usage(application: dict[str, Any], now: dt.datetime) -> Usage | None:
    """What an application's pre-initialized capacity (``initialCapacity``) has used since it
    started: its workers' vCPU, memory and disk, held from ``updatedAt`` (the application's last
    state change, i.e. when it reached STARTED) to ``now`` (UTC). EMR Serverless bills
    pre-initialized workers while the application is started, whether jobs or sessions use them
    or not. None when the application is not STARTED or has no pre-initialized workers.
    Only disk above :data:`FREE_DISK_GB` per worker counts as storage.

    Worker sizes are strings such as ``"4 vCPU"``, ``"16 GB"``, ``"20 GB"`` (EMR Serverless user
    guide, "Configuring an application", read 2026-11-26); disk defaults to 20 GB per worker.
    """
    capacity = application.get("initialCapacity") or {}
    if application.get("state") != "STARTED" or not capacity:
        return None
    hours = max((now - application["updatedAt"]).total_seconds(), 0.0) / 3600
    vcpu = memory = extra_disk = 0.0
    for config in capacity.values():
        count, worker = config["workerCount"], config["workerConfiguration"]
        vcpu += count * _amount(worker["cpu"])
        memory += count * _amount(worker["memory"])
        extra_disk += count * max(_amount(worker.get("disk") or "20 GB") - FREE_DISK_GB, 0.0)
    if not vcpu:
        return None
    return Usage(
        substrate=emr_serverless.NAME,
        job_seconds=hours * 3600,
        vcpu_hours=vcpu * hours,
        memory_gb_hours=memory * hours,
        storage_gb_hours=extra_disk * hours,
    )


def _amount(size: str) -> float:
    """The number of a worker size such as ``"4 vCPU"`` or ``"16 GB"``."""
    return float(size.split()[0])
