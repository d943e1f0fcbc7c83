"""The platform's sensors: budget thresholds per team and month, and orphaned EMR work."""
# No "from __future__ import annotations": dagster checks the context annotation at definition time.

import dagster as dg

from assets.platform_cost.cost_assets import REPORT_KEY
from emr_platform.config import PlatformConfig
from emr_platform.cost import alerts, orphans
from emr_platform.cost.budget import crossings
from emr_platform.cost.month_report import month_to_date_report
from resources import launchers


def budget_sensor(config: PlatformConfig) -> dg.SensorDefinition:
    """Fires when a team's month-to-date spend reaches each of ``cost.budget_thresholds`` of its budget,
    once per threshold per team per month: materializes the report, publishes to ``cost.sns_topic`` if set."""

    @dg.sensor(
        name="cost_budget_sensor",
        target=dg.AssetSelection.assets(REPORT_KEY),
        minimum_interval_seconds=3600,
        default_status=dg.DefaultSensorStatus.RUNNING,
    )
    def _budget(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        report = month_to_date_report(context.instance, config)
        fired, cursor = crossings(report.month_to_date, report.budgets, config.cost.budget_thresholds, report.month, context.cursor)
        for alert in fired:
            context.log.warning(alert.message)
        if config.cost.sns_topic:
            alerts.publish(fired, config.cost.sns_topic, config.platform.region)
        if not fired:
            return dg.SensorResult(skip_reason="no budget threshold newly reached", cursor=cursor)
        run_key = f"budget-{report.month}-" + ",".join(f"{a.team}:{a.threshold:g}" for a in fired)
        request = dg.RunRequest(run_key=run_key, asset_selection=[REPORT_KEY], tags={"cost/alerts": str(len(fired))})
        return dg.SensorResult(run_requests=[request], cursor=cursor)

    return _budget


def orphan_sensor(config: PlatformConfig) -> dg.SensorDefinition:
    """Terminates EMR clusters and cancels EMR Serverless job runs of this stage whose Dagster run has ended."""

    @dg.sensor(name="emr_orphan_sensor", minimum_interval_seconds=600, default_status=dg.DefaultSensorStatus.RUNNING)
    def _orphans(context: dg.SensorEvaluationContext) -> dg.SkipReason:
        region = config.platform.region
        found = launchers.find_orphans(orphans.run_has_ended(context.instance), config.stage, region)
        for orphan in found:
            launchers.stop_orphan(orphan, region)
            context.log.warning(f"stopped orphaned {orphan.describe()}")
        return dg.SkipReason(f"stopped {len(found)} orphan(s): " + "; ".join(o.describe() for o in found) if found else "no orphans")

    return _orphans
