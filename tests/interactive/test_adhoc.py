"""Ad-hoc runs: ``emr-platform spark submit`` on local Spark, and the team's ``adhoc`` job on the
EMR simulator (EMR Serverless and EMR Classic), each a Dagster run with its usage and cost."""

from __future__ import annotations

import dagster as dg

from assets.lib.adhoc import JOB_NAME, OP_NAME, record_key
from apps.workspace import location_definitions
from tests.emr.conftest import interrupt_when
from tests.interactive.conftest import run_cli

SCRIPT = '''import sys

from pyspark.sql import SparkSession

spark = SparkSession.builder.getOrCreate()
print("rows:", spark.range(int(sys.argv[1])).count(), "label:", sys.argv[2])
'''

FAILING = '''from pyspark.sql import SparkSession

SparkSession.builder.getOrCreate().range(2).count()
raise ValueError("column dep_delay is missing from the flights table")
'''


def _materialization(instance: dg.DagsterInstance, team: str) -> dict:
    (record,) = instance.fetch_materializations(record_key(team), limit=10).records
    return {k: v.value for k, v in record.asset_materialization.metadata.items()}


def test_submit_runs_the_script_once_as_a_dagster_run_with_its_cost(repo, tmp_path):
    (tmp_path / "rows.py").write_text(SCRIPT)
    home = tmp_path / "dagster_home"
    result = run_cli(repo, "spark", "submit", "--team", "data-science", str(tmp_path / "rows.py"), "--", "5", "x y",
                     env={"DAGSTER_HOME": str(home)})
    assert result.returncode == 0, result.stderr
    assert "rows: 5 label: x y" in result.stderr
    assert "--- last driver log lines ---" in result.stderr
    instance = dg.DagsterInstance.from_config(str(home))
    (run,) = instance.get_runs()
    assert run.job_name == JOB_NAME and run.is_success
    assert run.run_config["ops"][OP_NAME]["config"]["args"] == ["5", "x y"]
    metadata = _materialization(instance, "data-science")
    assert metadata["substrate"] == "local" and metadata["cost_usd"] > 0 and metadata["job_size"] == "medium"
    assert f"cost USD {metadata['cost_usd']:.4f}" in result.stderr


def test_a_failing_script_shows_its_log_tail_and_exits_1(repo, tmp_path):
    (tmp_path / "broken.py").write_text(FAILING)
    result = run_cli(repo, "spark", "submit", "-t", "analytics", str(tmp_path / "broken.py"),
                     env={"DAGSTER_HOME": str(tmp_path / "home")})
    assert result.returncode == 1
    assert "job script exited with code 1" in result.stderr
    assert "--- last driver log lines ---" in result.stderr
    assert "ValueError: column dep_delay is missing from the flights table" in result.stderr


def test_bad_input_is_one_line_and_starts_no_run(repo, tmp_path):
    home = tmp_path / "home"
    missing = run_cli(repo, "spark", "submit", "-t", "analytics", str(tmp_path / "nope.py"), env={"DAGSTER_HOME": str(home)})
    assert missing.returncode == 1
    assert missing.stderr.strip().splitlines() == [f"error script {tmp_path / 'nope.py'}: no such file"]
    (tmp_path / "rows.py").write_text(SCRIPT)
    size = run_cli(repo, "spark", "submit", "-t", "analytics", "--size", "huge", str(tmp_path / "rows.py"),
                   env={"DAGSTER_HOME": str(home)})
    assert size.stderr.strip().splitlines() == [
        "error size: expected a job size of config.yml (small, medium, large), got 'huge'"
    ]
    assert not (home / "history").exists()  # no Dagster run was recorded


def _adhoc(config, team: str):
    return location_definitions(team, f"assets.{team.replace('-', '_')}", config).resolve_job_def(JOB_NAME)


def _run_config(script, substrate: str = "", args=("3", "emr")) -> dict:
    return {"ops": {OP_NAME: {"config": {"script": str(script), "substrate": substrate, "args": list(args)}}}}


def test_adhoc_on_emr_serverless_and_classic_records_billed_cost_and_a_spark_ui_link(emr, dev, tmp_path):
    (tmp_path / "rows.py").write_text(SCRIPT)
    instance = dg.DagsterInstance.ephemeral()
    for team, substrate in (("data-science", "emr-serverless"), ("analytics", "emr-classic")):
        result = _adhoc(dev, team).execute_in_process(run_config=_run_config(tmp_path / "rows.py"), instance=instance)
        assert result.success
        metadata = _materialization(instance, team)
        assert metadata["substrate"] == substrate and metadata["cost_usd"] > 0
        logs = "\n".join(r.user_message for r in instance.all_logs(result.run_id))
        assert "rows: 3 label: emr" in logs
    serverless = _materialization(instance, "data-science")
    assert serverless["usage_billed"] is True
    assert serverless["spark_ui"].startswith("https://") and "emrappui" in serverless["spark_ui"]


def test_interrupted_adhoc_run_leaves_nothing_running(emr, dev, tmp_path):
    (tmp_path / "rows.py").write_text(SCRIPT)
    emr.hold_seconds = 60
    job = _adhoc(dev, "data-science")
    interrupt_when(lambda: bool(emr.active()), _with_config(job, _run_config(tmp_path / "rows.py")))
    # the emr fixture then checks that no job run, cluster, step or session is left active


class _with_config:
    """``job.execute_in_process`` with a fixed run config, as ``interrupt_when`` calls it."""

    def __init__(self, job, run_config):
        self.job, self.run_config = job, run_config

    def execute_in_process(self, **kwargs):
        return self.job.execute_in_process(run_config=self.run_config, **kwargs)
