"""The workspace of ``workspace.yaml`` in this process: its code locations loaded, their order by
dependency, and runs submitted through it the way the UI and ``dagster job launch -w`` submit them.

A run made by ``execute_job`` on a reconstructable job has no code location origin: the UI lists
it on no job page and cannot re-execute it (``CheckError: Expected non-None value``). Here the
workspace's code servers load each location, the run is created from the location's remote job
(its remote origin, job snapshot and execution plan) and launched with ``instance.launch_run``:
the instance's run launcher starts it in a run worker of that code location. (The UI calls
``submit_run``, whose queued run coordinator leaves the launch to the daemon; the demo launches
directly, so it does not depend on a daemon running.)
"""


from __future__ import annotations

import contextlib
import graphlib
import importlib
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import dagster as dg
from dagster._core.remote_representation.external import RemoteJob
from dagster._core.definitions.selector import JobSubsetSelector
from dagster._core.storage.dagster_run import DagsterRunStatus
from dagster._core.workspace.context import BaseWorkspaceRequestContext, WorkspaceProcessContext
from dagster._core.workspace.load_target import WorkspaceFileTarget

from assets.catalog import declared_specs
from assets.lib.factory import team_definitions
from emr_platform.config import REPO_ROOT, PlatformConfig
from emr_platform.workspace import workspace_locations

POLL_SECONDS = 0.5
FINISHED = {DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED}


def location_definitions(name: str, module_name: str, config: PlatformConfig | None = None) -> dg.Definitions:
    """A code location's ``Definitions``: the module's ``defs``, or, given ``config``, a team's
    ``SPECS`` and ``defs/`` YAML rebuilt on it (how tests and benchmarks point a pipeline at another lake)."""
    module = importlib.import_module(module_name)
    if config is None or not hasattr(module, "SPECS"):
        return module.defs
    return team_definitions(
        name, module.SPECS, Path(module.__file__).parent, config=config, declared_specs=declared_specs, package=module_name
    )


def load_locations(root: Path = REPO_ROOT) -> dict[str, dg.Definitions]:
    """Import every code location of the workspace: ``{location name: Definitions}``."""
    return {name: location_definitions(name, module) for name, module in workspace_locations(root).items()}


def own_keys(defs: dg.Definitions) -> set[dg.AssetKey]:
    """Keys of the assets a location materializes (not the other locations' it depends on)."""
    graph = defs.resolve_asset_graph()
    return {key for key in graph.get_all_asset_keys() if graph.get(key).is_materializable}


def dependency_order(locations: dict[str, dg.Definitions]) -> list[str]:
    """Location names, each after the locations whose assets it depends on (else in given order).

    Raises ``ValueError`` naming the locations that depend on each other in a cycle.
    """
    owner = {key: name for name, defs in locations.items() for key in own_keys(defs)}
    sorter: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter()
    for name, defs in locations.items():
        graph = defs.resolve_asset_graph()
        parents = {dep for key in own_keys(defs) for dep in graph.get(key).parent_keys}
        sorter.add(name, *{owner[dep] for dep in parents if owner.get(dep, name) != name})
    try:
        sorter.prepare()
    except graphlib.CycleError as error:
        raise ValueError(f"code locations depend on each other in a cycle: {sorted(set(error.args[1]))}") from None
    position = {name: index for index, name in enumerate(locations)}
    ordered: list[str] = []
    ready: set[str] = set()
    while sorter.is_active():  # one at a time, the first ready in given order, as a reader lists them
        ready.update(sorter.get_ready())
        ordered.append(min(ready, key=position.__getitem__))
        ready.discard(ordered[-1])
        sorter.done(ordered[-1])
    return ordered


@contextlib.contextmanager
def workspace_context(instance: dg.DagsterInstance, workspace_file: Path) -> Iterator[BaseWorkspaceRequestContext]:
    """A request context of the workspace in ``workspace_file`` (its code servers run until exit).

    Raises ``RuntimeError`` naming the location and its error when a code location fails to load.
    """
    with WorkspaceProcessContext(instance, WorkspaceFileTarget(paths=[str(workspace_file)])) as process:
        context = process.create_request_context()
        errors = context.code_location_errors()
        if errors:
            raise RuntimeError(
                "code locations failed to load: " + "; ".join(f"{e.message.strip().splitlines()[-1]}" for e in errors)
            )
        yield context


def remote_job(context: BaseWorkspaceRequestContext, location: str, job_name: str, assets: Sequence[dg.AssetKey]) -> RemoteJob:
    """The remote job ``job_name`` of code location ``location``, subset to ``assets``."""
    code_location = context.get_code_location(location)
    (repository,) = code_location.get_repositories().values()
    selector = JobSubsetSelector(
        location_name=location,
        repository_name=repository.name,
        job_name=job_name,
        op_selection=None,
        asset_selection=list(assets),
    )
    return code_location.get_job(selector)


def submit(
    context: BaseWorkspaceRequestContext,
    location: str,
    job_name: str,
    assets: Sequence[dg.AssetKey],
    tags: Mapping[str, str],
    run_config: Mapping[str, Any],
) -> dg.DagsterRun:
    """Create a run of ``assets`` from the location's job, with its origin, and launch it."""
    instance = context.instance
    job = remote_job(context, location, job_name, assets)
    code_location = context.get_code_location(location)
    plan = code_location.get_execution_plan(
        job, dict(run_config), step_keys_to_execute=None, known_state=None, instance=instance
    )
    run = instance.create_run(
        job_name=job_name,
        run_id=None,
        run_config=dict(run_config),
        resolved_op_selection=None,
        step_keys_to_execute=plan.execution_plan_snapshot.step_keys_to_execute,
        op_selection=None,
        status=DagsterRunStatus.NOT_STARTED,
        root_run_id=None,
        parent_run_id=None,
        tags={**job.tags, **tags},
        job_snapshot=job.job_snapshot,
        execution_plan_snapshot=plan.execution_plan_snapshot,
        parent_job_snapshot=job.parent_job_snapshot,
        remote_job_origin=job.get_remote_origin(),
        job_code_origin=job.get_python_origin(),
        asset_selection=frozenset(assets),
        asset_check_selection=None,
        asset_graph=context.asset_graph,
    )
    return instance.launch_run(run.run_id, context)


def wait(instance: dg.DagsterInstance, run_id: str, timeout_seconds: float) -> dg.DagsterRun:
    """The run once it succeeded, failed or was canceled; raises ``TimeoutError`` after ``timeout_seconds``."""
    deadline = time.monotonic() + timeout_seconds
    while True:
        run = instance.get_run_by_id(run_id)
        if run.status in FINISHED:
            return run
        if time.monotonic() > deadline:
            raise TimeoutError(f"run {run_id} still {run.status.value} after {timeout_seconds:.0f} s")
        time.sleep(POLL_SECONDS)


def submit_and_wait(
    context: BaseWorkspaceRequestContext,
    location: str,
    job_name: str,
    assets: Sequence[dg.AssetKey],
    tags: Mapping[str, str],
    run_config: Mapping[str, Any],
    timeout_seconds: float,
) -> dg.DagsterRun:
    """:func:`submit`, then :func:`wait`."""
    run = submit(context, location, job_name, assets, tags, run_config)
    return wait(context.instance, run.run_id, timeout_seconds)
