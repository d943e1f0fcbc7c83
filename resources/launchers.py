"""The launcher of each substrate, registered here by import; the launcher resources of a location;
the orphans of every substrate (what the orphan sensor stops).

One line of :data:`LAUNCHERS` per substrate of :data:`emr_platform.substrates.REGISTRY` (a test holds
the two in step); each launcher is built from its substrate's own settings section and the stage's
:class:`~emr_platform.launcher.Site`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from emr_platform import substrates
from emr_platform.config import ConfigError, PlatformConfig
from emr_platform.launcher import SparkLauncher
from emr_platform.substrates import Orphan
from resources import site_of
from resources.emr.classic import EmrClassicLauncher
from resources.emr.serverless import EmrServerlessLauncher
from resources.local_spark import LocalSparkLauncher

# substrate name -> its launcher class
LAUNCHERS: dict[str, type[SparkLauncher]] = {
    "local": LocalSparkLauncher,
    "emr-serverless": EmrServerlessLauncher,
    "emr-classic": EmrClassicLauncher,
}


def launcher_resources(config: PlatformConfig, names: Iterable[str]) -> dict[str, SparkLauncher]:
    """``{resource key: launcher}`` of each substrate in ``names``, built once from its settings.

    Raises ``ConfigError`` for an unknown substrate or one whose settings section is absent.
    """
    site = site_of(config)
    launchers = {}
    for name in sorted(set(names)):
        substrate = substrates.get(name)
        settings = config.substrate_settings(name)
        if settings is None:
            raise ConfigError([f"stages/{config.stage}.yml: {substrate.config_key}: expected a section (assets run on {name})"])
        launchers[substrate.resource_key] = LAUNCHERS[name].create(settings, site)
    return launchers


def find_orphans(ended: Callable[[str], bool], stage: str, region: str) -> list[Orphan]:
    """Active work of ``stage`` on every substrate, started by the platform, whose run has ``ended``
    (see :mod:`emr_platform.cost.orphans`)."""
    return [orphan for launcher in LAUNCHERS.values() for orphan in launcher.find_orphans(ended, stage, region)]


def stop_orphan(orphan: Orphan, region: str) -> dict[str, Any]:
    """Stop ``orphan`` as its substrate does (terminate the cluster, cancel the step or job run,
    terminate the session); returns the AWS response. Raises ``ValueError`` for a kind no substrate knows."""
    for name, launcher in LAUNCHERS.items():
        if orphan.kind in substrates.get(name).orphan_kinds:
            return launcher.stop_orphan(orphan, region)
    raise ValueError(f"no substrate stops orphans of kind {orphan.kind!r}")
