"""The layers run one way: library <- launchers <- code locations <- applications, with no import cycle.

Every ``import`` statement of ``emr_platform/``, ``resources/`` and ``assets/`` is read with
``ast``, including those inside functions (a lazy import still ties two modules together).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from emr_platform.config import REPO_ROOT

PACKAGES = ("emr_platform", "resources", "assets")
# Lower layers first; a module may import its own layer and the layers below it.
LAYERS = ("library", "launchers", "locations", "applications")


def layer_of(module: str) -> str:
    parts = module.split(".")
    if parts[:2] == ["emr_platform", "apps"]:
        return "applications"
    if parts[:2] == ["emr_platform", "locations"] or parts[0] == "assets":
        return "locations"
    if parts[0] == "resources":
        return "launchers"
    return "library"


def project_modules(root: Path = REPO_ROOT) -> dict[str, Path]:
    """``{dotted module name: file}`` of every Python module of the layered packages (job scripts
    under ``assets/<team>/jobs/`` are programs run by Spark, not modules, and are left out)."""
    modules = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            if "jobs" in parts or "__pycache__" in parts:
                continue
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            modules[name] = path
    return modules


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The project modules ``name`` imports, anywhere in its file."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(filter(None, [*anchor, base]))
            # `from pkg import sub` imports the submodule pkg.sub when there is one
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = project_modules()
    return {name: imports_of(name, path, set(modules)) for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for child in sorted(graph[node]):
            if child not in index:
                visit(child)
                low[node] = min(low[node], low[child])
            elif child in on_stack:
                low[node] = min(low[node], index[child])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_graph_is_read():
    graph = import_graph()
    assert "emr_platform.config" in graph["emr_platform.locations.factory"]
    assert "resources" in graph["emr_platform.locations.factory"]
    assert {"emr_platform.substrates.emr_classic", "emr_platform.substrates.local"} <= graph["emr_platform.substrates"]


def test_no_import_cycle():
    assert cycles(import_graph()) == []


def test_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_layers_import_only_downwards():
    wrong = [
        f"{module} ({layer_of(module)}) imports {target} ({layer_of(target)})"
        for module, targets in sorted(import_graph().items())
        for target in sorted(targets)
        if LAYERS.index(layer_of(target)) > LAYERS.index(layer_of(module))
    ]
    assert wrong == []


@pytest.mark.parametrize(
    ("module", "layer"),
    [
        ("emr_platform.config", "library"),
        ("emr_platform.substrates.emr_serverless", "library"),
        ("resources.emr.serverless", "launchers"),
        ("emr_platform.locations.factory", "locations"),
        ("assets.analytics", "locations"),
        ("emr_platform.apps.demo", "applications"),
        ("emr_platform.apps", "applications"),
    ],
)
def test_layer_of(module, layer):
    assert layer_of(module) == layer
