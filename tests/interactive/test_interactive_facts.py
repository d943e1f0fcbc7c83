"""The pure parts of interactive Spark: config checks, the SPARK_REMOTE string, orphaned sessions,
pre-initialized capacity, and interactive work as its own line of the cost report."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import pytest

from emr_platform import releases
from emr_platform.config import ConfigError, load_config
from emr_platform.cost.estimates import estimate_rows
from emr_platform.cost.report import build_report
from emr_platform.pricing import Usage
from emr_platform.sessions import SessionError, require_interactive, spark_remote, warm_capacity_usage
from emr_platform.substrates.emr_serverless import session_orphan_reason, supports_sessions
from tests.interactive.conftest import edit_stage

NOW = dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC)


def test_config_rejects_sessions_below_emr_7_13(config_root, monkeypatch):
    edit_stage(config_root, "dev", {"emr_serverless": {"release_label": "emr-7.12.0"}})
    sessions_problem = (
        "stages/dev.yml: emr_serverless.release_label: expected emr-7.13.0 or later for Spark Connect sessions "
        "(interactive teams: data-science), got 'emr-7.12.0'"
    )
    with pytest.raises(ConfigError) as raised:
        load_config("dev", root=config_root)
    assert len(raised.value.problems) == 2 and "which runs Spark 3.5.6-amzn-1" in raised.value.problems[0]
    assert raised.value.problems[1] == sessions_problem
    # A platform pinned to pyspark 3.5 (the 7.x releases' Spark) still gets no sessions before emr-7.13.0.
    monkeypatch.setattr(releases, "installed_spark", lambda: ("3.5.6", "3.5"))
    on_7x = {"release_label": "emr-7.12.0"}
    edit_stage(config_root, "dev", {"emr_classic": {"profiles": {"default": on_7x, "large": on_7x}}})
    with pytest.raises(ConfigError) as raised:
        load_config("dev", root=config_root)
    assert raised.value.problems == [sessions_problem]
    monkeypatch.undo()
    assert load_config("dev").emr_serverless.release_label == "emr-spark-8.0.0"
    assert supports_sessions("emr-7.13.0") and supports_sessions("emr-spark-8.0.0") and supports_sessions("emr-spark-8.1.0")
    assert not supports_sessions("emr-7.12.0") and not supports_sessions("emr-7.9.0") and not supports_sessions("")


def test_only_interactive_teams_get_sessions_on_emr_and_every_team_locally():
    require_interactive(load_config("dev"), "data-science")
    require_interactive(load_config("local"), "analytics")  # the local server: any declared team
    with pytest.raises(SessionError, match=r"^team analytics has no Spark Connect sessions on EMR Serverless: set `interactive: true`"):
        require_interactive(load_config("dev"), "analytics")
    with pytest.raises(ConfigError, match="teams.marketing: team is not declared"):
        require_interactive(load_config("dev"), "marketing")


def test_spark_remote_uses_tls_except_for_the_loopback_simulator():
    assert spark_remote("https://s-1.emr-serverless.us-east-1.amazonaws.com", "t0k") == (
        "sc://s-1.emr-serverless.us-east-1.amazonaws.com:443/;use_ssl=true;token=t0k"
    )
    assert spark_remote("http://localhost:15002", "t0k") == "sc://localhost:15002/;token=t0k"
    with pytest.raises(SessionError, match="not TLS"):
        spark_remote("http://10.0.0.5:15002", "t0k")


def test_a_session_is_orphaned_when_its_owner_is_silent_or_it_idles_past_its_limit():
    now = NOW.timestamp()
    fresh = {"state": "IDLE", "tags": {"heartbeat-at": str(int(now) - 30)}, "idleSince": NOW, "idleTimeoutMinutes": 30}
    assert session_orphan_reason(fresh, now) is None
    silent = {**fresh, "tags": {"heartbeat-at": str(int(now) - 900)}}
    assert session_orphan_reason(silent, now) == "its owner's process is gone (no heartbeat for 900 s)"
    idle = {**fresh, "idleSince": NOW - dt.timedelta(minutes=31)}
    assert session_orphan_reason(idle, now) == "idle for 31 min, past its limit of 30 min"
    assert session_orphan_reason({**idle, "state": "BUSY"}, now) is None


def test_pre_initialized_capacity_is_priced_from_when_the_application_started():
    application = {
        "state": "STARTED",
        "updatedAt": NOW - dt.timedelta(hours=2),
        "initialCapacity": {
            "Driver": {"workerCount": 1, "workerConfiguration": {"cpu": "2 vCPU", "memory": "4 GB"}},
            "Executor": {"workerCount": 2, "workerConfiguration": {"cpu": "2 vCPU", "memory": "8 GB", "disk": "50 GB"}},
        },
    }
    usage = warm_capacity_usage(application, NOW)
    assert (usage.vcpu_hours, usage.memory_gb_hours, usage.storage_gb_hours) == (12.0, 40.0, 120.0)
    assert usage.metadata()["cost_usd"] == pytest.approx(12 * 0.052624 + 40 * 0.0057785 + 120 * 0.000111, abs=1e-4)
    assert warm_capacity_usage({**application, "state": "STOPPED"}, NOW) is None
    assert warm_capacity_usage({**application, "initialCapacity": {}}, NOW) is None


def test_interactive_work_is_its_own_line_of_the_team_and_counts_against_its_budget():
    instance = dg.DagsterInstance.ephemeral()
    for key, usage in (
        (["data-science", "interactive", "sessions"], Usage("emr-serverless", 600, vcpu_hours=2.0, billed=True)),
        (["data-science", "features", "flight_weather"], Usage("emr-serverless", 60, vcpu_hours=1.0, billed=True)),
    ):
        instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=key, metadata=usage.metadata()))
    rows = estimate_rows(instance, dt.datetime.now(dt.UTC) - dt.timedelta(days=1))
    report = build_report([], set(), rows, {"data-science": 800.0}, dt.datetime.now(dt.UTC).date())
    lines = {(r["team"], r["substrate"]): r["usd"] for r in report.daily}
    assert lines[("data-science", "interactive")] == pytest.approx(2 * 0.052624, abs=1e-4)
    assert lines[("data-science", "emr-serverless")] == pytest.approx(0.052624, abs=1e-4)
    assert report.month_to_date["data-science"] == pytest.approx(3 * 0.052624, abs=1e-4)
