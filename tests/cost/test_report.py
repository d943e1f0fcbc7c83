"""The per-team report: pure building from rows, and the platform location's all_assets job in stage local."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import pytest

from assets.platform_cost import platform_definitions
from assets.platform_cost.cost_assets import COST_EXPLORER_KEY, REPORT_KEY
from emr_platform.cost.report import build_report, render_chart, render_markdown, render_text
from emr_platform.cost.month_report import month_to_date_report
from tests.cost.conftest import stage_config

TODAY = dt.date(2026, 11, 3)


def _estimate(day: str, asset: str, usd: float, substrate: str = "emr-serverless") -> dict:
    return {"date": day, "team": asset.split("/")[0], "asset": asset, "substrate": substrate, "cost_usd": usd, "cost_basis": "billed-usage", "run_id": "r"}


def _ce(day: str, team: str, usd: float, service: str = "Amazon EMR Serverless", substrate: str = "emr-serverless") -> dict:
    return {"date": day, "team": team, "service": service, "substrate": substrate, "amount": usd, "amortized_amount": usd, "currency": "USD", "estimated": False}


def test_cost_explorer_days_replace_estimates_and_are_reconciled():
    estimates = [
        _estimate("2026-11-01", "de/core/a", 10.0),
        _estimate("2026-11-01", "de/core/b", 5.0),
        _estimate("2026-11-03", "de/core/a", 2.0),  # no Cost Explorer figure yet: the estimate counts
        _estimate("2026-10-31", "de/core/a", 100.0),  # last month
    ]
    ce_rows = [_ce("2026-11-01", "de", 16.0), _ce("2026-11-01", "untagged", 1.5, "Amazon S3", "other"), _ce("2026-11-02", "de", 0.5, "AWS Glue", "other")]
    report = build_report(ce_rows, {"2026-11-01", "2026-11-02"}, estimates, {"de": 20.0, "ds": 10.0}, TODAY)

    assert report.month == "2026-11"
    assert report.month_to_date == pytest.approx({"de": 16.0 + 0.5 + 2.0, "ds": 0.0, "untagged": 1.5})
    assert report.budget_share("de") == pytest.approx(18.5 / 20) and report.budget_share("untagged") is None
    assert [(a["asset"], a["usd"], a["runs"]) for a in report.top_assets] == [("de/core/a", 12.0, 2), ("de/core/b", 5.0, 1)]
    de = next(r for r in report.reconciliation if r["team"] == "de")
    assert (de["estimate_usd"], de["cost_explorer_usd"], de["difference_usd"]) == (15.0, 16.0, -1.0)
    assert {r["source"] for r in report.daily if r["date"] == "2026-11-03"} == {"estimate"}
    markdown = render_markdown(report)
    assert "| de | $18.50 | $20.00 | 92.5% |" in markdown and "| untagged |" in markdown
    assert "de/core/a: $12.00 over 2 run(s)" in render_text(report)
    assert render_chart(report).startswith(b"\x89PNG")


def test_without_cost_explorer_the_reconciliation_says_so():
    report = build_report([], set(), [_estimate("2026-11-02", "de/core/a", 1.0)], {"de": 10.0}, TODAY)
    assert report.reconciliation == [{"team": "de", "estimate_usd": 1.0, "cost_explorer_usd": None, "difference_usd": None}]


def test_local_all_assets_job_reports_the_estimates_of_the_event_log(tmp_path):
    config = stage_config("local", tmp_path / "lake")
    defs = platform_definitions(config)
    graph = defs.resolve_asset_graph()
    assert COST_EXPLORER_KEY not in graph.get_all_asset_keys()  # no Cost Explorer in stage local
    node = graph.get(REPORT_KEY)
    assert node.owners == ["team:platform"] and node.tags["team"] == "platform" and node.kinds == {"python", "matplotlib"}
    instance = dg.DagsterInstance.ephemeral()
    for key, usd in (("data-engineering/core/flights_clean", 0.0042), ("analytics/performance/carrier_monthly", 0.0011)):
        metadata = {"cost_usd": usd, "substrate": "local", "cost_basis": "emr-serverless-equivalent"}
        instance.report_runless_asset_event(dg.AssetMaterialization(dg.AssetKey(key.split("/")), metadata=metadata))
    instance.report_runless_asset_event(dg.AssetMaterialization(dg.AssetKey(["no", "cost"])))

    result = defs.resolve_job_def("all_assets").execute_in_process(instance=instance)

    metadata = result.get_asset_materialization_events()[0].materialization.metadata
    assert metadata["data-engineering/month_to_date_usd"].value == pytest.approx(0.0042)
    assert metadata["analytics/month_to_date_usd"].value == pytest.approx(0.0011)
    assert metadata["data-science/month_to_date_usd"].value == 0
    assert "data:image/png;base64," in metadata["report"].value
    month = dt.datetime.now(dt.UTC).strftime("%Y-%m")
    assert (tmp_path / f"lake/platform/cost/team_cost_report/{month}/chart.png").read_bytes().startswith(b"\x89PNG")
    assert "data-engineering" in render_text(month_to_date_report(instance, config))


def test_workspace_lists_the_platform_location_after_the_teams():
    from emr_platform.workspace import workspace_locations

    names = list(workspace_locations())
    assert names[-1] == "platform" and workspace_locations()["platform"] == "assets.platform_cost"
