"""Builds a team's code location (one ``Definitions``) from its Spark asset specs.

Policy applied here, once, for every asset: key ``[team, domain, table]``, group = domain,
owners (``team:<team>`` plus the team's owners from config), kinds (``spark`` + substrate),
tags (team, substrate, stage), asset check specs, and the launcher resource of the
asset's substrate. Each spec is resolved once (:func:`emr_platform.spec.resolve`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import dagster as dg

from emr_platform import substrates
from emr_platform.config import ConfigError, PlatformConfig, load_config
from emr_platform.launcher import SparkLauncher
from emr_platform.locations.adhoc import adhoc_job, adhoc_substrates
from emr_platform.spec import ResolvedSparkAsset, SparkAssetSpec, resolve
from emr_platform.spec_inputs import DeclaredKeys, input_problems
from resources import launcher_resources

JOB_NAME = "all_assets"


def spark_asset(config: PlatformConfig, asset: ResolvedSparkAsset) -> dg.AssetsDefinition:
    """The Dagster asset of ``asset``: each run builds its :class:`SparkJob` and launches it on
    the launcher resource of its substrate."""
    spec, key = asset.spec, asset.key
    launcher_key = substrates.get(asset.substrate).resource_key

    @dg.asset(
        key=key,
        description=spec.description,
        deps=list(spec.upstream_keys().values()),
        group_name=spec.domain,
        owners=list(asset.owners),
        kinds={"spark", asset.substrate},
        tags=asset.tags,
        metadata={"job_script": dg.MetadataValue.path(str(asset.script)), "job_size": asset.size_name},
        check_specs=[dg.AssetCheckSpec(c.name, asset=key, description=c.description) for c in spec.checks],
        required_resource_keys={launcher_key},
    )
    def _spark_asset(context):  # no annotation: dagster rejects string (postponed) annotations here
        launcher: SparkLauncher = getattr(context.resources, launcher_key)
        yield from launcher.launch(context, asset.job(config, context.run.run_id))

    return _spark_asset


def team_definitions(
    team: str,
    specs: Sequence[SparkAssetSpec],
    base_dir: Path | str,
    config: PlatformConfig | None = None,
    declared_keys: DeclaredKeys | None = None,
) -> dg.Definitions:
    """The code location of ``team``: its Spark assets, one job materializing all of them, the
    team's ad-hoc job (:mod:`emr_platform.locations.adhoc`), and launchers.

    ``base_dir`` is the team package's folder (job scripts are relative to it);
    ``declared_keys(team)`` gives the asset keys another team's location declares (see
    ``assets/catalog.py``). Raises ``ConfigError`` when ``team`` is not declared in config.yml,
    or a spec's input is not a declared asset of the team or of its ``upstream_teams``;
    ``FileNotFoundError`` for a missing job script.
    """
    config = config or load_config()
    config.team(team)
    base_dir = Path(base_dir)
    problems = input_problems(config, team, specs, f"{base_dir.parent.name}/{base_dir.name}", declared_keys)
    if problems:
        raise ConfigError(problems)
    resolved = [resolve(config, team, spec, Path(base_dir)) for spec in specs]
    assets = [spark_asset(config, asset) for asset in resolved]
    used = {asset.substrate for asset in resolved} | set(adhoc_substrates(config))  # ad-hoc runs may pick any
    return dg.Definitions(
        assets=assets,
        jobs=[dg.define_asset_job(JOB_NAME, selection=dg.AssetSelection.assets(*assets)), adhoc_job(config, team)],
        resources=launcher_resources(config, used),
    )
