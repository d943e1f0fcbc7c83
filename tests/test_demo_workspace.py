"""The demo submits runs through the workspace, as the Dagster UI does: each run carries its code
location's origin, is listed for the location's job, and re-executes through the UI's own
GraphQL mutation."""

from __future__ import annotations

import textwrap

import dagster as dg
from dagster._core.storage.tags import REPOSITORY_LABEL_TAG
from dagster_graphql.client.query import LAUNCH_PIPELINE_REEXECUTION_MUTATION
from dagster_graphql.test.utils import execute_dagster_graphql

from apps.demo import submit_locations
from apps.workspace import wait, workspace_context
from emr_platform.config import REPO_ROOT
from tests.conftest import local_config
from tests.emr.conftest import QUICK_SCRIPT


def _workspace(tmp_path, config) -> object:
    """A workspace of one location ``analytics`` (module ``probe_location`` in ``tmp_path``) holding
    one quick Spark asset on ``config``."""
    (tmp_path / "config.json").write_text(config.model_dump_json())
    (tmp_path / "job.py").write_text(QUICK_SCRIPT)
    (tmp_path / "probe_location.py").write_text(textwrap.dedent(f'''
        from pathlib import Path

        from emr_platform.config import PlatformConfig
        from assets.lib.factory import team_definitions
        from emr_platform.spec import SparkAsset

        config = PlatformConfig.model_validate_json(Path({str(tmp_path / "config.json")!r}).read_text())
        SPEC = SparkAsset(domain="probe", table="t", script="job.py", description="probe")
        defs = team_definitions("analytics", [SPEC], Path(__file__).parent, config=config)
    '''))
    workspace = tmp_path / "workspace.yaml"
    workspace.write_text(
        "load_from:\n  - python_module:\n      module_name: probe_location\n      location_name: analytics\n"
        f"      working_directory: {tmp_path}\n"
    )
    return workspace


def test_a_demo_run_is_listed_for_its_job_and_re_executes_through_the_workspace(tmp_path, connect_state, monkeypatch):
    config = local_config(tmp_path / "lake", connect_state)
    workspace = _workspace(tmp_path, config)
    monkeypatch.syspath_prepend(str(tmp_path))  # the demo plans its runs from the same modules
    monkeypatch.setenv("PYTHONPATH", str(REPO_ROOT))  # code servers import this checkout
    # The UI's mutation submits the re-execution to the run coordinator; without a daemon to
    # dequeue it here, the instance launches on submit (DefaultRunCoordinator).
    coordinator = {"module": "dagster._core.run_coordinator", "class": "DefaultRunCoordinator"}
    with dg.instance_for_test(overrides={"run_coordinator": coordinator}) as instance:
        outcomes = submit_locations(instance, workspace, timeout_seconds=300)
        assert [(o.key, o.rows, o.ok) for o in outcomes] == [("analytics/probe/t", 5, True)]
        (run,) = instance.get_runs()
        assert run.remote_job_origin is not None and run.remote_job_origin.location_name == "analytics"
        # the job page's own query (dagster_graphql GraphenePipeline.resolve_runs)
        label = run.remote_job_origin.repository_origin.get_label()
        job_page = dg.RunsFilter(job_name="all_assets", tags={REPOSITORY_LABEL_TAG: label})
        assert label.endswith("@analytics") and [r.run_id for r in instance.get_runs(job_page)] == [run.run_id]

        with workspace_context(instance, workspace) as context:
            variables = {"reexecutionParams": {"parentRunId": run.run_id, "strategy": "ALL_STEPS"}}
            response = execute_dagster_graphql(context, LAUNCH_PIPELINE_REEXECUTION_MUTATION, variables=variables)
            launched = response.data["launchPipelineReexecution"]
            assert launched["__typename"] == "LaunchRunSuccess", launched
            again = wait(instance, launched["run"]["runId"], 300)
        assert again.status == dg.DagsterRunStatus.SUCCESS
        assert again.parent_run_id == run.run_id
        assert {r.run_id for r in instance.get_runs(job_page)} == {run.run_id, again.run_id}
