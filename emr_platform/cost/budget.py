"""Budget thresholds crossed per team and month, remembered in a sensor cursor.

Pure. The cursor is JSON: ``{"month": "YYYY-MM", "fired": {team: [threshold, ...]}}``; a new
month starts with nothing fired, so each threshold fires at most once per team per month.
"""

from __future__ import annotations

import json
from dataclasses import dataclass


@dataclass(frozen=True)
class Alert:
    """Team ``team`` spent ``spend_usd`` this month, at least ``threshold`` (a fraction) of ``budget_usd``."""

    team: str
    threshold: float
    spend_usd: float
    budget_usd: float
    month: str

    @property
    def message(self) -> str:
        return (
            f"{self.team} has spent ${self.spend_usd:,.2f} of its ${self.budget_usd:,.2f} budget in {self.month} "
            f"({self.spend_usd / self.budget_usd:.0%}, threshold {self.threshold:.0%})"
        )


def crossings(
    month_to_date: dict[str, float], budgets: dict[str, float], thresholds: list[float], month: str, cursor: str | None
) -> tuple[list[Alert], str]:
    """``(alerts, new cursor)``: thresholds reached this month that have not fired yet."""
    state = json.loads(cursor) if cursor else {}
    fired: dict[str, list[float]] = state.get("fired", {}) if state.get("month") == month else {}
    alerts = []
    for team, budget in sorted(budgets.items()):
        spend = month_to_date.get(team, 0.0)
        for threshold in sorted(thresholds):
            if spend >= threshold * budget and threshold not in fired.get(team, []):
                alerts.append(Alert(team, threshold, spend, budget, month))
                fired.setdefault(team, []).append(threshold)
    return alerts, json.dumps({"month": month, "fired": fired}, sort_keys=True)
