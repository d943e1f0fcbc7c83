"""The per-team cost report: spend by team x day x substrate, month to date against budget,
top assets by estimated cost, and estimates reconciled with Cost Explorer.

Pure: build from rows (see ``explorer.SCHEMA`` and ``estimates.estimate_rows``), render as
markdown, terminal text or a PNG chart. All amounts in USD.
"""

from __future__ import annotations

import datetime as dt
import io
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from emr_platform import substrates

SOURCE_COST_EXPLORER = "cost-explorer"
SOURCE_ESTIMATE = "estimate"


@dataclass(frozen=True)
class CostReport:
    """One month up to ``as_of`` (inclusive).

    ``daily``: ``{"date", "team", "substrate", "usd", "source"}`` rows, Cost Explorer's figure
    for days it has, the recorded estimates for the others; ``month_to_date`` and ``budgets``:
    USD per team; ``top_assets``: ``{"asset", "team", "usd", "runs"}`` by estimated cost;
    ``reconciliation``: per team, estimate vs Cost Explorer (EMR services only) over the days
    Cost Explorer covers (when it covers none: the month's estimate, ``cost_explorer_usd`` None).
    """

    month: str
    as_of: dt.date
    daily: list[dict[str, Any]]
    month_to_date: dict[str, float]
    budgets: dict[str, float]
    top_assets: list[dict[str, Any]]
    reconciliation: list[dict[str, Any]] = field(default_factory=list)

    def budget_share(self, team: str) -> float | None:
        """Month-to-date spend as a fraction of the team's budget (None without a budget)."""
        budget = self.budgets.get(team)
        return self.month_to_date.get(team, 0.0) / budget if budget else None


def month_days(today: dt.date) -> list[dt.date]:
    """The days of ``today``'s month up to and including ``today``."""
    return [today.replace(day=d) for d in range(1, today.day + 1)]


def build_report(
    ce_rows: list[dict[str, Any]],
    ce_days: set[str],
    estimates: list[dict[str, Any]],
    budgets: dict[str, float],
    today: dt.date,
    top_n: int = 10,
) -> CostReport:
    """The report of ``today``'s month from Cost Explorer rows of ``ce_days`` and estimate rows."""
    days = {d.isoformat() for d in month_days(today)}
    estimates = [e for e in estimates if e["date"] in days]
    spend: dict[tuple[str, str, str, str], float] = defaultdict(float)
    for row in ce_rows:
        if row["date"] in days and row["date"] in ce_days:
            spend[(row["date"], row["team"], row["substrate"], SOURCE_COST_EXPLORER)] += row["amount"]
    for row in estimates:
        if row["date"] not in ce_days:
            spend[(row["date"], row["team"], row["substrate"], SOURCE_ESTIMATE)] += row["cost_usd"]
    daily = [
        {"date": d, "team": t, "substrate": s, "usd": usd, "source": src}
        for (d, t, s, src), usd in sorted(spend.items())
    ]
    month_to_date = {team: 0.0 for team in budgets}
    for row in daily:
        month_to_date[row["team"]] = month_to_date.get(row["team"], 0.0) + row["usd"]
    by_asset: dict[str, dict[str, Any]] = {}
    for row in estimates:
        entry = by_asset.setdefault(row["asset"], {"asset": row["asset"], "team": row["team"], "usd": 0.0, "runs": 0})
        entry["usd"] += row["cost_usd"]
        entry["runs"] += 1
    top_assets = sorted(by_asset.values(), key=lambda e: (-e["usd"], e["asset"]))[:top_n]
    return CostReport(
        month=today.strftime("%Y-%m"),
        as_of=today,
        daily=daily,
        month_to_date=month_to_date,
        budgets=dict(budgets),
        top_assets=top_assets,
        reconciliation=_reconcile(ce_rows, ce_days & days, estimates, sorted(month_to_date)),
    )


def _reconcile(ce_rows, covered: set[str], estimates, teams: list[str]) -> list[dict[str, Any]]:
    rows = []
    for team in teams:
        # Without any Cost Explorer day there is nothing to compare: show the month's estimate.
        estimate = sum(e["cost_usd"] for e in estimates if e["team"] == team and (e["date"] in covered or not covered))
        actual = sum(
            r["amount"] for r in ce_rows if r["team"] == team and r["date"] in covered and r["substrate"] in substrates.on_aws()
        )
        has_ce = bool(covered)
        rows.append(
            {
                "team": team,
                "estimate_usd": estimate,
                "cost_explorer_usd": actual if has_ce else None,
                "difference_usd": (estimate - actual) if has_ce else None,
            }
        )
    return rows


def _usd(value: float | None) -> str:
    return "-" if value is None else f"${value:,.4f}" if abs(value) < 1 else f"${value:,.2f}"


def _share(report: CostReport, team: str) -> str:
    share = report.budget_share(team)
    return "-" if share is None else f"{share:.1%}"


def render_markdown(report: CostReport, chart_markdown: str = "") -> str:
    """The report as markdown; ``chart_markdown`` (e.g. an image) goes after the budget table."""
    lines = [f"# Spark cost, {report.month} (to {report.as_of.isoformat()})", ""]
    lines += ["## Month to date against budget", "", "| team | month to date | budget | used |", "|---|---:|---:|---:|"]
    for team in sorted(report.month_to_date):
        lines.append(f"| {team} | {_usd(report.month_to_date[team])} | {_usd(report.budgets.get(team))} | {_share(report, team)} |")
    if chart_markdown:
        lines += ["", chart_markdown]
    lines += ["", "## By team, day and substrate", "", "| date | team | substrate | spend | source |", "|---|---|---|---:|---|"]
    lines += [f"| {r['date']} | {r['team']} | {r['substrate']} | {_usd(r['usd'])} | {r['source']} |" for r in report.daily]
    lines += ["", "## Top assets by estimated cost", "", "| asset | team | runs | estimated |", "|---|---|---:|---:|"]
    lines += [f"| {a['asset']} | {a['team']} | {a['runs']} | {_usd(a['usd'])} |" for a in report.top_assets]
    lines += ["", "## Estimates vs Cost Explorer (EMR services, days Cost Explorer covers)", ""]
    lines += ["| team | estimated | Cost Explorer | difference |", "|---|---:|---:|---:|"]
    lines += [
        f"| {r['team']} | {_usd(r['estimate_usd'])} | {_usd(r['cost_explorer_usd'])} | {_usd(r['difference_usd'])} |"
        for r in report.reconciliation
    ]
    return "\n".join(lines) + "\n"


def render_text(report: CostReport) -> str:
    """A short terminal summary: one line per team (month to date, budget, share) and the top assets."""
    width = max([len(t) for t in report.month_to_date] + [4])
    lines = [f"Spark cost {report.month} to {report.as_of.isoformat()} (USD; local runs priced as EMR Serverless)"]
    for team in sorted(report.month_to_date):
        lines.append(f"  {team:<{width}}  {_usd(report.month_to_date[team]):>10}  of {_usd(report.budgets.get(team)):>10}  {_share(report, team):>6}")
    if report.top_assets:
        lines.append("  top assets:")
        lines += [f"    {a['asset']}: {_usd(a['usd'])} over {a['runs']} run(s)" for a in report.top_assets[:5]]
    return "\n".join(lines)


def render_chart(report: CostReport) -> bytes:
    """PNG: daily spend per team (stacked bars) and month to date against budget."""
    import matplotlib

    matplotlib.use("Agg")  # no display: runs in sensors, CI and containers
    import matplotlib.pyplot as plt

    teams = sorted(report.month_to_date)
    days = [d.isoformat() for d in month_days(report.as_of)]
    figure, (daily_axis, budget_axis) = plt.subplots(1, 2, figsize=(12, 4.5), gridspec_kw={"width_ratios": [2, 1]})
    bottom = [0.0] * len(days)
    for team in teams:
        values = [sum(r["usd"] for r in report.daily if r["team"] == team and r["date"] == d) for d in days]
        daily_axis.bar([d[-2:] for d in days], values, bottom=bottom, label=team)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    daily_axis.set_title(f"Daily spend by team, {report.month}")
    daily_axis.set_xlabel("day of month")
    daily_axis.set_ylabel("USD")
    daily_axis.legend(fontsize=8)
    shares = [100 * (report.budget_share(t) or 0.0) for t in teams]
    bars = budget_axis.barh(teams, shares, color=["tab:red" if s >= 100 else "tab:orange" if s >= 80 else "tab:green" for s in shares])
    for bar, team in zip(bars, teams, strict=True):
        budget_axis.text(bar.get_width(), bar.get_y() + bar.get_height() / 2, f" {_usd(report.month_to_date[team])} ({_share(report, team)})", va="center", fontsize=8)
    budget_axis.axvline(80, color="tab:orange", linestyle="--", linewidth=1)
    budget_axis.axvline(100, color="tab:red", linestyle="--", linewidth=1)
    budget_axis.set_xlim(0, max([110.0, *(s * 1.3 for s in shares)]))
    budget_axis.set_title("Month to date, % of budget")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    plt.close(figure)
    return buffer.getvalue()
