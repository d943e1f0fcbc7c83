"""The substrate registry: one :class:`Substrate` descriptor per way of running a Spark job.

Adding a substrate means one descriptor module here (listed in :data:`REGISTRY`), one launcher
module in ``resources/``, one infra component, and its tests' fixture (docs/architecture.md).
"""

from __future__ import annotations

from emr_platform.settings import ConfigError
from emr_platform.substrates import emr_classic, emr_serverless, local
from emr_platform.substrates.descriptor import Orphan, Substrate

# Order matters where descriptors are asked in turn (Cost Explorer services).
REGISTRY: dict[str, Substrate] = {s.name: s for s in (local.SUBSTRATE, emr_serverless.SUBSTRATE, emr_classic.SUBSTRATE)}
NAMES: tuple[str, ...] = tuple(REGISTRY)


def get(name: str) -> Substrate:
    """The descriptor of substrate ``name``; raises ``ConfigError`` naming the known ones."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise ConfigError([f"substrate {name!r} is not known (known: {', '.join(NAMES)})"]) from None


def on_aws() -> tuple[str, ...]:
    """Names of the substrates whose spend AWS Cost Explorer reports."""
    return tuple(name for name, substrate in REGISTRY.items() if substrate.on_aws)


__all__ = ["NAMES", "REGISTRY", "Orphan", "Substrate", "get", "on_aws"]
