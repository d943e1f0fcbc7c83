"""The code locations of ``workspace.yaml``: read by the demo, the tests and ``infra/`` alike.

Only YAML, no Dagster import, so the Pulumi program can read it without loading Dagster.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from emr_platform.config import REPO_ROOT


def workspace_locations(root: Path = REPO_ROOT) -> dict[str, str]:
    """``{location name: python module}`` in ``workspace.yaml`` order."""
    entries = yaml.safe_load((root / "workspace.yaml").read_text())["load_from"]
    return {e["python_module"]["location_name"]: e["python_module"]["module_name"] for e in entries}
