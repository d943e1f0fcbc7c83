"""Spark Connect sessions on EMR Serverless, played by the EMR simulator on moto."""

from __future__ import annotations

import time

from pyspark.sql import SparkSession

from resources.sessions import emr_session
from tests.emr import sessions as simulated


def test_session_starts_answers_queries_and_is_terminated_on_exit(emr, dev):
    states = []
    with emr_session(dev, "data-science", "ada", states.append) as opened:
        (session,) = simulated.sessions()
        assert session["state"] == "IDLE"
        assert session["tags"] == {
            "team": "data-science", "user": "ada", "stage": "dev", "substrate": "emr-serverless",
            "managed-by": "emr-platform", "heartbeat-at": session["tags"]["heartbeat-at"],
        }
        assert session["executionRoleArn"].endswith("/emr-platform-dev-data-science-emr-serverless") or "data-science" in session["executionRoleArn"]
        assert opened.remote.startswith("sc://localhost:") and ";token=" in opened.remote
        spark = SparkSession.builder.remote(opened.remote).getOrCreate()
        assert spark.range(3).count() == 3
        spark.stop()
    assert simulated.sessions()[0]["state"] == "TERMINATED"
    assert opened.usage.billed and opened.usage.vcpu_hours > 0
    assert any("STARTING" in s for s in states)
