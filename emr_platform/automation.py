"""How a Spark asset is kept up to date: its automation condition, freshness policy and retry policy.

Plain data (config.yml team defaults, or a spec's fields), each turned into Dagster's own object
by one function: ``AutomationCondition.eager()`` / ``on_cron(cron, timezone)`` / ``on_missing()``
(evaluated by each code location's automation condition sensor), ``FreshnessPolicy.time_window``
(evaluated by Dagster's freshness daemon) and ``RetryPolicy``.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from emr_platform.settings import SettingsModel

# dagster is imported where its objects are built, not here: loading config.yml (the CLI, Pulumi)
# validates these settings without paying dagster's import (about 2 s).
if TYPE_CHECKING:
    import dagster as dg

# "eager", "on_missing", "none", or {"on_cron": "<cron>"}
Automation = str | dict[str, str]
DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> dt.timedelta:
    """``"26h"``, ``"90m"``, ``"2d"``, ``"30s"`` as a timedelta; raises ``ValueError`` otherwise."""
    match = DURATION.match(str(text).strip())
    if not match or float(match.group(1)) <= 0:
        raise ValueError(f"expected a positive duration like '26h', '90m' or '2d', got {text!r}")
    return dt.timedelta(seconds=float(match.group(1)) * UNIT_SECONDS[match.group(2)])


def automation_condition(value: Automation | None, timezone: str = "UTC") -> dg.AutomationCondition | None:
    """The automation condition of ``value``: ``"eager"``, ``"on_missing"``, ``{"on_cron": "0 6 * * *"}``
    (cron evaluated in ``timezone``), or None/``"none"`` (none). Raises ``ValueError`` saying what
    was expected for anything else, including a cron string that does not parse."""
    if value is None or value == "none":
        return None
    import dagster as dg
    from dagster._utils.schedules import is_valid_cron_string  # the check ScheduleDefinition applies

    if value == "eager":
        return dg.AutomationCondition.eager()
    if value == "on_missing":
        return dg.AutomationCondition.on_missing()
    if isinstance(value, dict) and set(value) == {"on_cron"}:
        cron = value["on_cron"]
        if not isinstance(cron, str) or not is_valid_cron_string(cron):
            raise ValueError(f"expected a cron string of 5 fields for on_cron (e.g. '0 6 * * *'), got {cron!r}")
        return dg.AutomationCondition.on_cron(cron, cron_timezone=timezone)
    raise ValueError(f"expected 'eager', 'on_missing', 'none' or {{on_cron: '<cron>'}}, got {value!r}")


class FreshnessSettings(SettingsModel):
    """An asset is fresh when it materialized successfully within ``fail_window`` (``"26h"``);
    ``warn_window`` (shorter) warns first."""

    fail_window: str
    warn_window: str | None = None

    def policy(self) -> dg.FreshnessPolicy:
        """Dagster's time-window ``FreshnessPolicy``; raises ``ValueError`` for bad durations or a
        warn window not shorter than the fail window."""
        import dagster as dg

        fail = parse_duration(self.fail_window)
        warn = parse_duration(self.warn_window) if self.warn_window else None
        if warn is not None and warn >= fail:
            raise ValueError(f"expected warn_window shorter than fail_window, got {self.warn_window} >= {self.fail_window}")
        return dg.FreshnessPolicy.time_window(fail_window=fail, warn_window=warn)


class RetrySettings(SettingsModel):
    """Retries of a failed materialization: up to ``max_retries``, ``delay_seconds`` apart, growing
    ``linear``-ly or ``exponential``-ly with ``backoff`` (none: a constant delay)."""

    max_retries: int = Field(ge=0, le=10)
    delay_seconds: float | None = Field(None, ge=0)
    backoff: Literal["linear", "exponential"] | None = None

    def policy(self) -> dg.RetryPolicy:
        """Dagster's ``RetryPolicy``."""
        import dagster as dg

        backoff = dg.Backoff(self.backoff.upper()) if self.backoff else None
        return dg.RetryPolicy(max_retries=self.max_retries, delay=self.delay_seconds, backoff=backoff)
