"""Each team's ad-hoc job: one Spark script run once, on the team's substrate, as a Dagster run.

``emr-platform spark submit`` launches it, and so can the Launchpad (run config: ``script``,
``size``, ``substrate``, ``args``). The script goes through the same launchers as the team's
assets (staged artifacts, tags, client token, log tail on failure, nothing left running when
the run is terminated); the run's usage and ``cost_usd`` are recorded as a materialization of
``[team, "interactive", "adhoc"]``, which the cost report shows as the team's ``interactive``
line. A Spark UI link (EMR Serverless ``GetDashboardForJobRun``, valid one hour) is logged and
kept as metadata.
"""
# No "from __future__ import annotations": dagster reads the op's config annotation at definition time.

from pathlib import Path
from typing import Any

import dagster as dg

from emr_platform import substrates, tags
from emr_platform.config import CONFIG_FILE, REPO_ROOT, ConfigError, PlatformConfig
from emr_platform.launcher import SparkJob, SparkLauncher
from emr_platform.sessions import INTERACTIVE
from resources.emr.serverless import spark_ui_url

JOB_NAME = "adhoc"
OP_NAME = "adhoc_spark_script"


class AdhocRun(dg.Config):
    """Run config of the ad-hoc job: the script (a path on the machine running the run, absolute
    or relative to the repository root), the job size and substrate (empty: the team's, as the
    stage resolves it) and the script's command-line arguments."""

    script: str
    size: str = ""
    substrate: str = ""
    args: list[str] = []


def record_key(team: str, kind: str = "adhoc") -> dg.AssetKey:
    """``[team, "interactive", kind]``: where interactive work's usage and cost are recorded."""
    return dg.AssetKey([team, INTERACTIVE, kind])


def adhoc_substrates(config: PlatformConfig) -> list[str]:
    """Substrates an ad-hoc run may use in ``config``'s stage: the forced one, else every substrate
    with a settings section whose lake roots it can use."""
    if config.execution.force_substrate:
        return [config.execution.force_substrate]
    usable = []
    for name, substrate in substrates.REGISTRY.items():
        s3_ready = all(str(getattr(config.lake, p) or "").startswith("s3://") for p in ("artifacts_root", "logs_root"))
        if config.substrate_settings(name) is not None and (s3_ready or not substrate.needs_s3_roots):
            usable.append(name)
    return usable


def adhoc_job_of(config: PlatformConfig, team: str, run: AdhocRun, run_id: str, root: Path = REPO_ROOT) -> SparkJob:
    """The :class:`SparkJob` of an ad-hoc run of ``team``; raises ``ConfigError`` naming what to fix
    (size, substrate) and ``FileNotFoundError`` for a script that does not exist."""
    settings = config.team(team)
    substrate = run.substrate or config.execution.force_substrate or settings.substrate
    allowed = adhoc_substrates(config)
    if substrate not in allowed:
        raise ConfigError([f"substrate: expected one of {', '.join(allowed)} in stage {config.stage}, got {substrate!r}"])
    size_name = run.size or settings.job_size
    if size_name not in config.job_sizes:
        raise ConfigError([f"size: expected a job size of {CONFIG_FILE} ({', '.join(config.job_sizes)}), got {size_name!r}"])
    script = Path(run.script).expanduser()
    script = script if script.is_absolute() else root / script
    if not script.is_file():
        raise FileNotFoundError(f"script {run.script}: no such file")
    key = record_key(team, script.stem.replace("-", "_"))
    return SparkJob(
        team=team,
        asset_key=key,
        script=script.resolve(),
        inputs={},
        output="",
        size_name=size_name,
        size=config.job_sizes[size_name],
        checks=[],
        params={},
        timeout_seconds=config.execution.timeout_seconds,
        tags={
            tags.TEAM: team,
            tags.ASSET: key.to_user_string(),
            tags.SUBSTRATE: substrate,
            tags.STAGE: config.stage,
            tags.RUN_ID: run_id,
        },
        args=tuple(run.args),
    )


def adhoc_job(platform: PlatformConfig, team: str) -> dg.JobDefinition:
    """The team's ``adhoc`` job (one op, :class:`AdhocRun` run config), with the launchers of
    :func:`adhoc_substrates` as resources (provided by the team's ``Definitions``)."""
    keys = {substrates.get(name).resource_key for name in adhoc_substrates(platform)}

    @dg.op(name=OP_NAME, required_resource_keys=keys, tags={tags.TEAM: team})
    def _run(context: dg.OpExecutionContext, config: AdhocRun):
        job = adhoc_job_of(platform, team, config, context.run.run_id)
        substrate = job.tags[tags.SUBSTRATE]
        launcher: SparkLauncher = getattr(context.resources, substrates.get(substrate).resource_key)
        context.log.info(f"ad-hoc run of {job.script} {' '.join(job.args)} on {substrate}, size {job.size_name}")
        metadata: dict[str, Any] = {"script": str(job.script), "args": " ".join(job.args), "job_size": job.size_name}
        try:
            results = launcher.launch(context, job)
        finally:
            url = _spark_ui(context, job, platform.platform.region)
            if url:
                metadata["spark_ui"] = dg.MetadataValue.url(url)
        for result in results:
            if isinstance(result, dg.MaterializeResult):
                metadata.update(result.metadata or {})
        yield dg.AssetMaterialization(asset_key=record_key(team), metadata=metadata)
        yield dg.Output(None, metadata=metadata)

    @dg.job(
        name=JOB_NAME,
        description=f"Run one Spark script of team {team} once (emr-platform spark submit).",
        tags={tags.TEAM: team, "kind": INTERACTIVE},
    )
    def _adhoc():
        _run()

    return _adhoc


def _spark_ui(context: dg.OpExecutionContext, job: SparkJob, region: str) -> str | None:
    try:
        url = spark_ui_url(job, job.client_token(context.run.run_id, context.retry_number), region)
    except Exception as exc:  # a missing link must not hide the run's own result or error
        context.log.warning(f"no Spark UI link: {exc!r}")
        return None
    if url:
        context.log.info(f"Spark UI (valid one hour): {url}")
    return url
