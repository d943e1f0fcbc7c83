"""Builds a team's code location (one ``Definitions``) from its Spark asset specs.

Policy applied here, once, for every asset: key ``[team, domain, table]``, group = domain,
owners (``team:<team>`` plus the team's owners from config), kinds (``spark`` + substrate),
tags (team, substrate, stage), asset check specs, and the launcher resource of the
asset's substrate; its partitions, partition mappings, backfill policy, automation condition,
freshness and retry policy. Each spec is resolved once (:func:`emr_platform.spec.resolve`).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import dagster as dg

from emr_platform import naming, substrates
from emr_platform.config import ConfigError, PlatformConfig, load_config
from emr_platform.launcher import SparkLauncher, with_metadata
from emr_platform.locations.adhoc import adhoc_job, adhoc_substrates
from emr_platform.locations.sensors import automation_sensor, run_failure_alert_sensor
from emr_platform.spec import ResolvedSparkAsset, SparkAssetSpec, UpstreamPartitions, resolve, spec_partitioning
from emr_platform.spec_inputs import DeclaredKeys, input_problems
from resources import launcher_resources

JOB_NAME = "all_assets"
# dagster 1.13 marks @asset's backfill_policy as beta and warns for every partitioned asset it builds
warnings.filterwarnings("ignore", category=dg.BetaWarning, message=".*backfill_policy.*")


def spark_asset(config: PlatformConfig, asset: ResolvedSparkAsset) -> dg.AssetsDefinition:
    """The Dagster asset of ``asset``: each run builds its :class:`SparkJob` and launches it on
    the launcher resource of its substrate."""
    spec, key = asset.spec, asset.key
    launcher_key = substrates.get(asset.substrate).resource_key
    deps = [
        dg.AssetDep(upstream, partition_mapping=asset.inputs[name].mapping if name in asset.inputs else None)
        for name, upstream in spec.upstream_keys().items()
    ]

    @dg.asset(
        key=key,
        description=spec.description,
        deps=deps,
        partitions_def=asset.partitions_def,
        backfill_policy=asset.backfill_policy,
        automation_condition=asset.automation_condition,
        freshness_policy=asset.freshness_policy,
        retry_policy=asset.retry_policy,
        group_name=naming.group_name(asset.team, spec.domain),
        owners=list(asset.owners),
        kinds={"spark", asset.substrate},
        tags=asset.tags,
        metadata={"job_script": dg.MetadataValue.path(str(asset.script)), "job_size": asset.size_name},
        check_specs=[dg.AssetCheckSpec(c.name, asset=key, description=c.description) for c in spec.checks],
        required_resource_keys={launcher_key},
    )
    def _spark_asset(context):  # no annotation: dagster rejects string (postponed) annotations here
        launcher: SparkLauncher = getattr(context.resources, launcher_key)
        keys = list(context.partition_keys) if asset.partitioning else None
        job = asset.job(config, context.run.run_id, keys)
        results = launcher.launch(context, job)
        if job.partition:  # each partition of a range gets this materialization; its cost is the whole run's
            results = with_metadata(
                results, {"partition_range": job.partition.label, "partition_count": len(job.partition.keys)}
            )
        yield from results

    return _spark_asset


def upstream_specs(config: PlatformConfig, team: str, resolved: Sequence[ResolvedSparkAsset]) -> list[dg.AssetSpec]:
    """Other teams' assets this location reads, declared in their owners' groups with their owners
    (instead of Dagster's implicit ``default`` group), so the lineage shows whose they are."""
    keys = {key for asset in resolved for key in asset.spec.upstream_keys().values() if key.path[0] != team}
    return [
        dg.AssetSpec(
            key,
            group_name=naming.group_name(key.path[0], key.path[1]),
            owners=[f"team:{key.path[0]}", *config.team(key.path[0]).owners],
            tags={"team": key.path[0]},
        )
        for key in sorted(keys, key=lambda k: k.to_user_string())
    ]


def team_definitions(
    team: str,
    specs: Sequence[SparkAssetSpec],
    base_dir: Path | str,
    config: PlatformConfig | None = None,
    declared_keys: DeclaredKeys | None = None,
    declared_specs: Callable[[str], Sequence[SparkAssetSpec]] | None = None,
) -> dg.Definitions:
    """The code location of ``team``: its Spark assets, one job materializing all of them, the
    team's ad-hoc job (:mod:`emr_platform.locations.adhoc`), launchers, the automation condition
    sensor and the run failure alert sensor.

    ``base_dir`` is the team package's folder (job scripts are relative to it);
    ``declared_keys(team)`` gives the asset keys another team's location declares (see
    ``assets/catalog.py``); ``declared_specs(team)`` their specs (then the keys are theirs, and an
    input's partitioning is checked against its upstream's). Raises ``ConfigError`` when ``team`` is not declared in config.yml,
    or a spec's input is not a declared asset of the team or of its ``upstream_teams``;
    ``FileNotFoundError`` for a missing job script.
    """
    config = config or load_config()
    config.team(team)
    base_dir = Path(base_dir)
    label = f"{base_dir.parent.name}/{base_dir.name}"
    if declared_specs is not None and declared_keys is None:
        def declared_keys(owner: str) -> set[str]:
            return {f"{owner}/{s.domain}/{s.table}" for s in declared_specs(owner)}
    problems = input_problems(config, team, specs, label, declared_keys)
    if problems:
        raise ConfigError(problems)
    upstream = upstream_partitions(config, team, specs, declared_specs)
    resolved = [resolve(config, team, spec, base_dir, upstream, label) for spec in specs]
    assets = [spark_asset(config, asset) for asset in resolved]
    used = {asset.substrate for asset in resolved} | set(adhoc_substrates(config))  # ad-hoc runs may pick any
    return dg.Definitions(
        assets=[*assets, *upstream_specs(config, team, resolved)],
        jobs=[dg.define_asset_job(JOB_NAME, selection=dg.AssetSelection.assets(*assets)), adhoc_job(config, team)],
        sensors=[automation_sensor(team, assets), run_failure_alert_sensor(config, team)],
        resources=launcher_resources(config, used),
    )


def upstream_partitions(
    config: PlatformConfig,
    team: str,
    specs: Sequence[SparkAssetSpec],
    declared_specs: Callable[[str], Sequence[SparkAssetSpec]] | None,
) -> UpstreamPartitions:
    """``{"team/domain/table": (partitioning, partition column)}`` of the assets ``team`` may read:
    its own ``specs`` and, given ``declared_specs``, its upstream teams'. A spec whose partitioning
    does not resolve is left out (its own location reports it)."""
    owned = [(team, spec) for spec in specs]
    if declared_specs is not None:
        owned += [(owner, spec) for owner in config.team(team).upstream_teams for spec in declared_specs(owner)]
    found = {}
    for owner, spec in owned:
        try:
            found[f"{owner}/{spec.domain}/{spec.table}"] = (spec_partitioning(config, owner, spec), spec.partition_column)
        except ValueError:
            continue
    return found
