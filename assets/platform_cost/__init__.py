"""Code location ``platform``: what the Spark of every team costs.

Assets ``platform/cost/cost_explorer_daily`` (daily partitions; stages with Cost Explorer
only) and ``platform/cost/team_cost_report``; the schedule re-materializing the last 3
days; the budget sensor and (stages with AWS) the orphan sensor. See docs/cost.md.
Not named ``platform``: job scripts run with ``assets/`` on PYTHONPATH, where that name
would shadow the standard library module pyspark imports.
"""

from __future__ import annotations

import dagster as dg

from assets.platform_cost.cost_assets import cost_explorer_daily, last_days_schedule, team_cost_report
from assets.platform_cost.sensors import budget_sensor, orphan_sensor
from emr_platform import naming
from emr_platform.config import PlatformConfig, load_config

OWNER = "platform"


def platform_definitions(config: PlatformConfig | None = None) -> dg.Definitions:
    """The ``platform`` code location of ``config``'s stage, with its ``all_assets`` job.

    Without Cost Explorer (stage ``local``) the location holds only the report, built from
    the estimates in the event log, so ``all_assets`` needs no partition key there.
    """
    config = config or load_config()
    policy = {"group_name": naming.group_name(OWNER, "cost"), "owners": [f"team:{OWNER}"], "tags": {"team": OWNER, "stage": config.stage}}
    assets = [team_cost_report(config, policy)]
    schedules = []
    if config.cost.cost_explorer:
        assets.insert(0, cost_explorer_daily(config, policy))
        schedules.append(last_days_schedule())
    sensors = [budget_sensor(config)] + ([orphan_sensor(config)] if config.cost.orphan_sensor else [])
    return dg.Definitions(
        assets=assets,
        jobs=[dg.define_asset_job("all_assets", selection=dg.AssetSelection.assets(*assets))],
        schedules=schedules,
        sensors=sensors,
    )


defs = platform_definitions()
