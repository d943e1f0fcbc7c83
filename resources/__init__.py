"""The launcher layer: builds each substrate's :class:`~emr_platform.launcher.SparkLauncher`.

A substrate's descriptor (``emr_platform/substrates/``) names its launcher class as
``"<module>:<class>"``; this is the one place that imports it, and builds it from the
substrate's own settings section and the stage's :class:`~emr_platform.launcher.Site`.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from typing import TYPE_CHECKING

from emr_platform import substrates
from emr_platform.config import ConfigError, PlatformConfig

if TYPE_CHECKING:  # imported where used: `emr-platform spark session` opens the local server without dagster
    from emr_platform.launcher import Site, SparkLauncher


def site_of(config: PlatformConfig) -> Site:
    """What every launcher of ``config``'s stage shares: platform, stage, lake roots, Spot discount."""
    from emr_platform.launcher import Site

    return Site(platform=config.platform, stage=config.stage, lake=config.lake, spot_discount=config.cost.spot_discount)


def launcher_class(substrate: substrates.Substrate) -> type[SparkLauncher]:
    """The launcher class ``substrate.launcher`` names."""
    module, _, name = substrate.launcher.partition(":")
    return getattr(importlib.import_module(module), name)


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
        launchers[substrate.resource_key] = launcher_class(substrate).create(settings, site)
    return launchers
