"""What each team's code location declares: its package's ``SPECS`` and ``defs/`` YAML.

A location checks at load that every input it reads from another team is an asset that
team declares (``emr_platform.spec_inputs``), and maps its partitions onto the upstream's.
The platform library must not import team packages, so team modules hand
:func:`declared_specs` to ``team_definitions``.

Importing an upstream team's package builds its ``Definitions`` as well; a package being
imported further up the stack (two teams reading each other) is returned as it is, its
``SPECS`` already set because ``defs`` comes after it. An upstream package that does not load
(say, a broken ``defs.yaml``) gives ``None``: its assets are unknown, the reading location still
loads, and the upstream location reports its own error. That is why the packages are imported
by name here and not by ``import`` statements: the import is sideways, within the team layer of
pyproject.toml's import contracts, where this module sits beside the team packages.
"""

from __future__ import annotations

import importlib

from assets.lib.factory import defs_components
from emr_platform.spec import SparkAsset


def declared_specs(team: str) -> tuple[SparkAsset, ...] | None:
    """The specs of ``assets.<team package>``: its ``SPECS`` and the ``SparkAsset`` components of its
    ``defs/`` folder; none if the team has no package, ``None`` if it does not load."""
    package = f"assets.{team.replace('-', '_')}"
    try:
        module = importlib.import_module(package)
        components = defs_components(package)
    except ModuleNotFoundError as exc:
        if exc.name != package:
            raise
        return ()
    except Exception:  # noqa: BLE001 - its own location load reports it, with file and line
        return None
    return (*getattr(module, "SPECS", ()), *components)


def declared_keys(team: str) -> frozenset[str] | None:
    """Keys ``"team/domain/table"`` of :func:`declared_specs`; ``None`` if the package does not load."""
    specs = declared_specs(team)
    return None if specs is None else frozenset(f"{team}/{spec.domain}/{spec.table}" for spec in specs)
