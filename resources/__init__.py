"""Dagster resources: the Spark launchers, built from config in this one place."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from emr_platform.config import ConfigError, PlatformConfig
from emr_platform.factory import resource_key
from emr_platform.launcher import SparkLauncher
from resources.emr import EmrClassicLauncher, EmrServerlessLauncher
from resources.local_spark import LocalSparkLauncher


def _local(config: PlatformConfig) -> SparkLauncher:
    settings = config.local_spark
    return LocalSparkLauncher(
        mode=settings.mode,
        cores=settings.cores,
        driver_memory_gb=settings.driver_memory_gb,
        shuffle_partitions=settings.shuffle_partitions,
        idle_timeout_seconds=settings.idle_timeout_seconds,
        state_dir=settings.state_dir,
    )


# substrate -> factory of its launcher from the stage's config
LAUNCHERS: dict[str, Callable[[PlatformConfig], SparkLauncher]] = {
    "local": _local,
    "emr-serverless": EmrServerlessLauncher.from_config,
    "emr-classic": EmrClassicLauncher.from_config,
}


def launcher_resources(config: PlatformConfig, substrates: Iterable[str]) -> dict[str, SparkLauncher]:
    """``{resource key: launcher}`` for each substrate; raises ``ConfigError`` for one without a launcher."""
    missing = sorted(set(substrates) - set(LAUNCHERS))
    if missing:
        raise ConfigError([f"stages/{config.stage}.yml: execution: no launcher for substrate(s) {missing}"])
    return {resource_key(substrate): LAUNCHERS[substrate](config) for substrate in sorted(set(substrates))}
