"""The cost report of the month to date, from what is stored: Cost Explorer partitions and event-log estimates."""

from __future__ import annotations

import datetime as dt

import dagster as dg

from emr_platform.config import PlatformConfig, load_config
from emr_platform.cost import explorer
from emr_platform.cost.estimates import estimate_rows
from emr_platform.cost.report import CostReport, build_report, month_days


def month_to_date_report(instance: dg.DagsterInstance, config: PlatformConfig | None = None, today: dt.date | None = None) -> CostReport:
    """The :class:`CostReport` of ``today``'s month (default: now, UTC).

    Cost Explorer partitions are read only where the stage enables Cost Explorer (not in
    stage ``local``); every other day is priced from the ``cost_usd`` in ``instance``'s event log.
    """
    config = config or load_config()
    today = today or dt.datetime.now(dt.UTC).date()
    days = month_days(today)
    ce_rows, ce_days = explorer.read_days(config, days) if config.cost.cost_explorer else ([], set())
    since = dt.datetime.combine(days[0], dt.time(), dt.UTC)
    budgets = {name: team.budget_usd for name, team in config.teams.items()}
    return build_report(ce_rows, ce_days, estimate_rows(instance, since), budgets, today)
