"""The launcher layer: each substrate's :class:`~emr_platform.launcher.SparkLauncher` (``resources.launchers``
registers them by import and builds them), the EMR launch (``resources/emr/``), local Spark and sessions.

This module stays light (no dagster import): ``emr-platform spark session`` opens the local server
through ``resources.spark_connect`` without loading Dagster.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from emr_platform.config import PlatformConfig

if TYPE_CHECKING:
    from emr_platform.launcher import Site


def site_of(config: PlatformConfig) -> Site:
    """What every launcher of ``config``'s stage shares: platform, stage, lake roots, Spot discount."""
    from emr_platform.launcher import Site

    return Site(platform=config.platform, stage=config.stage, lake=config.lake, spot_discount=config.cost.spot_discount)
