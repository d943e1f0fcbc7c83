"""The platform's cost assets: Cost Explorer daily partitions and the per-team cost report."""
# No "from __future__ import annotations": dagster checks the context annotation at definition time.

import base64
import datetime as dt
import warnings

import boto3
import dagster as dg

from emr_platform.config import PlatformConfig
from emr_platform.cost import explorer, store
from emr_platform.cost.report import render_chart, render_markdown, render_text
from emr_platform.cost.month_report import month_to_date_report

COST_EXPLORER_KEY = dg.AssetKey(["platform", "cost", "cost_explorer_daily"])
REPORT_KEY = dg.AssetKey(["platform", "cost", "team_cost_report"])
# Cost Explorer keeps 13 months of daily data; older partitions cannot be filled.
DAILY = dg.DailyPartitionsDefinition(start_date="2025-11-01", timezone="UTC")
CE_REGION = "us-east-1"  # Cost Explorer has one endpoint, in us-east-1


def cost_explorer_daily(config: PlatformConfig, policy: dict) -> dg.AssetsDefinition:
    # The single-run backfill policy is beta in dagster; we rely on it so a range is one request.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)
        return _cost_explorer_daily(config, policy)


def _cost_explorer_daily(config: PlatformConfig, policy: dict) -> dg.AssetsDefinition:
    @dg.asset(
        key=COST_EXPLORER_KEY,
        description="Daily spend by team tag and service from AWS Cost Explorer (unblended and amortized), "
        "one parquet file per day under `<lake root>/platform/cost/cost_explorer_daily/`. A range of days is one request (plus pages).",
        partitions_def=DAILY,
        backfill_policy=dg.BackfillPolicy.single_run(),
        kinds={"aws", "parquet"},
        **policy,
    )
    def _cost_explorer_daily(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        window = context.partition_time_window
        start, end = window.start.date(), window.end.date()
        query = explorer.CostExplorerQuery(boto3.client("ce", region_name=CE_REGION))
        rows = query.daily(start, end)
        days = [start + dt.timedelta(days=i) for i in range((end - start).days)]
        uris = [explorer.write_partition(config, day, rows) for day in days]
        context.log.info(f"{len(rows)} rows of {start}..{end - dt.timedelta(days=1)} in {query.requests} request(s)")
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": len(rows),
                "total_usd": round(sum(r["amount"] for r in rows), 6),
                "untagged_usd": round(sum(r["amount"] for r in rows if r["team"] == explorer.UNTAGGED), 6),
                "cost_explorer_requests": query.requests,
                "partition_uris": dg.MetadataValue.json(uris),
            }
        )

    return _cost_explorer_daily


def team_cost_report(config: PlatformConfig, policy: dict) -> dg.AssetsDefinition:
    deps = [COST_EXPLORER_KEY] if config.cost.cost_explorer else []

    @dg.asset(
        key=REPORT_KEY,
        description="Spend by team x day x substrate, month to date against budget, top assets by estimated cost, "
        "estimates vs Cost Explorer. Markdown and a PNG chart under `<lake root>/platform/cost/team_cost_report/<month>/`.",
        deps=deps,
        kinds={"python", "matplotlib"},
        **policy,
    )
    def _team_cost_report(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        report = month_to_date_report(context.instance, config)
        png = render_chart(report)
        chart_uri = store.write_bytes(config, ("team_cost_report", report.month, "chart.png"), png, "image/png")
        markdown = render_markdown(report, "![spend](chart.png)").encode()
        report_uri = store.write_bytes(config, ("team_cost_report", report.month, "report.md"), markdown, "text/markdown")
        inline = f"![spend](data:image/png;base64,{base64.b64encode(png).decode()})"
        context.log.info("\n" + render_text(report))
        metadata: dict = {
            "report": dg.MetadataValue.md(render_markdown(report, inline)),
            "report_uri": report_uri,
            "chart_uri": chart_uri,
            "month_to_date_usd": round(sum(report.month_to_date.values()), 6),
        }
        for team, usd in sorted(report.month_to_date.items()):
            metadata[f"{team}/month_to_date_usd"] = round(usd, 6)
            if report.budget_share(team) is not None:
                metadata[f"{team}/budget_used"] = round(report.budget_share(team), 4)
        return dg.MaterializeResult(metadata=metadata)

    return _team_cost_report


def last_days_schedule(days: int = 3) -> dg.ScheduleDefinition:
    """Daily at 07:00 UTC, one run re-materializing the last ``days`` days (Cost Explorer restates them)."""

    @dg.schedule(
        name="cost_explorer_restated_days",
        cron_schedule="0 7 * * *",
        execution_timezone="UTC",
        target=dg.AssetSelection.assets(COST_EXPLORER_KEY),
        default_status=dg.DefaultScheduleStatus.RUNNING,
    )
    def _schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        today = context.scheduled_execution_time.date()
        first, last = today - dt.timedelta(days=days), today - dt.timedelta(days=1)
        return dg.RunRequest(
            run_key=f"cost-explorer-{first}-{last}",
            tags={"dagster/asset_partition_range_start": first.isoformat(), "dagster/asset_partition_range_end": last.isoformat()},
        )

    return _schedule
