"""The code locations of ``workspace.yaml`` loaded in this process, and their order by dependency."""

from __future__ import annotations

import importlib
from pathlib import Path

import dagster as dg

from assets.catalog import declared_specs
from emr_platform.config import REPO_ROOT, PlatformConfig
from emr_platform.locations.factory import team_definitions
from emr_platform.workspace import workspace_locations


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
    needs = {}
    for name, defs in locations.items():
        graph = defs.resolve_asset_graph()
        parents = {dep for key in own_keys(defs) for dep in graph.get(key).parent_keys}
        needs[name] = {owner[dep] for dep in parents if owner.get(dep, name) != name}
    ordered: list[str] = []
    while len(ordered) < len(locations):
        ready = [n for n in locations if n not in ordered and needs[n] <= set(ordered)]
        if not ready:
            raise ValueError(f"code locations depend on each other in a cycle: {sorted(set(locations) - set(ordered))}")
        ordered.append(ready[0])
    return ordered
