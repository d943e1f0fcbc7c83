"""The asset keys each team's code location declares, read from its package's ``SPECS``.

A location checks at load that every input it reads from another team is an asset that
team declares (``emr_platform.spec_inputs``). The platform library must not import team
packages, so team modules hand :func:`declared_keys` to ``team_definitions``.

Importing an upstream team's package builds its ``Definitions`` as well; a package being
imported further up the stack (two teams reading each other) is returned as it is, its
``SPECS`` already set because ``defs`` comes after it.
"""

from __future__ import annotations

import importlib


def declared_specs(team: str) -> tuple:
    """``assets.<team package>.SPECS`` (``SparkAssetSpec`` values); none if the team has no package."""
    package = f"assets.{team.replace('-', '_')}"
    try:
        module = importlib.import_module(package)
    except ModuleNotFoundError as exc:
        if exc.name != package:
            raise
        return ()
    return tuple(getattr(module, "SPECS", ()))


def declared_keys(team: str) -> frozenset[str]:
    """Keys ``"team/domain/table"`` of ``assets.<team package>.SPECS``; none if the team has no package."""
    return frozenset(f"{team}/{spec.domain}/{spec.table}" for spec in declared_specs(team))
