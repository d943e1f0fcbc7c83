"""The asset keys each team's code location declares: its package's ``SPECS`` and ``defs/`` YAML.

A location checks at load that every input it reads from another team is an asset that
team declares (``emr_platform.spec_inputs``). The platform library must not import team
packages, so team modules hand :func:`declared_keys` to ``team_definitions``.

Importing an upstream team's package builds its ``Definitions`` as well; a package being
imported further up the stack (two teams reading each other) is returned as it is, its
``SPECS`` already set because ``defs`` comes after it. An upstream package that does not load
(say, a broken ``defs.yaml``) gives ``None``: its keys are unknown, the reading location still
loads, and the upstream location reports its own error.
"""

from __future__ import annotations

import importlib

from emr_platform.locations.factory import defs_components


def declared_keys(team: str) -> frozenset[str] | None:
    """Keys ``"team/domain/table"`` of ``assets.<team package>``: its ``SPECS`` and the ``SparkAsset``
    components of its ``defs/`` folder; none if the team has no package, ``None`` if it does not load."""
    package = f"assets.{team.replace('-', '_')}"
    try:
        module = importlib.import_module(package)
        components = defs_components(package)
    except ModuleNotFoundError as exc:
        if exc.name != package:
            raise
        return frozenset()
    except Exception:  # noqa: BLE001 - its own location load reports it, with file and line
        return None
    specs = [*getattr(module, "SPECS", ()), *(component.spec() for component in components)]
    return frozenset(f"{team}/{spec.domain}/{spec.table}" for spec in specs)
