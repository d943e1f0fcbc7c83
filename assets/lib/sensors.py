"""The sensors every team location carries: its automation condition sensor and its run failure sensor."""
# No "from __future__ import annotations": dagster checks the context annotation at definition time.

from collections.abc import Sequence

import dagster as dg

from emr_platform import run_alerts
from emr_platform.config import PlatformConfig


def automation_sensor(team: str, assets: Sequence[dg.AssetsDefinition]) -> dg.AutomationConditionSensorDefinition:
    """Evaluates the automation conditions of the team's assets (``<team>_automation``); running by
    default, so ``dagster dev`` and a deployment's daemon act on them without a click."""
    return dg.AutomationConditionSensorDefinition(
        f"{team.replace('-', '_')}_automation",
        target=dg.AssetSelection.assets(*assets),
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Requests runs of {team}'s assets whose automation condition is true.",
    )


def _failures(context: dg.RunFailureSensorContext) -> list[run_alerts.StepFailure]:
    assets = {key.to_python_identifier(): key.to_user_string() for key in context.dagster_run.asset_selection or ()}
    failures = []
    for event in context.get_step_failure_events():
        data = event.step_failure_data
        metadata = data.user_failure_data.metadata if data.user_failure_data else {}
        message = data.error.message if data.error else ""
        failures.append(run_alerts.step_failure(assets.get(event.step_key, event.step_key), metadata, message))
    return failures


def run_failure_alert_sensor(config: PlatformConfig, team: str) -> dg.SensorDefinition:
    """``<team>_run_failure_alert``: for each failed run of the team's location, an alert (failed
    assets, substrate, partition, EMR's reason, driver log tail, link to the run) to the team's
    channel (``alerts`` in config.yml, see :mod:`emr_platform.run_alerts`), also logged."""

    @dg.run_failure_sensor(
        name=f"{team.replace('-', '_')}_run_failure_alert",
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Alerts {team} ({config.alerts.channel}) when a run of its location fails.",
    )
    def _alert(context: dg.RunFailureSensorContext):
        run = context.dagster_run
        alert = run_alerts.build_alert(config, team, run.run_id, run.job_name, run.tags, _failures(context))
        context.log.error(alert.message())
        where = run_alerts.deliver(alert, config, context.instance.root_directory)
        context.log.info(f"alert for run {run.run_id} sent to {config.alerts.channel}: {where}")

    return _alert
