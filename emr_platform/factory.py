"""Builds a team's code location (one ``Definitions``) from its Spark asset specs.

Policy applied here, once, for every asset: key ``[team, domain, table]``, group = domain,
owners (``team:<team>`` plus the team's owners from config), kinds (``spark`` + substrate),
tags (team, substrate, stage), asset check specs, and the launcher resource of the
asset's substrate.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import dagster as dg

from emr_platform import lake
from emr_platform.config import ConfigError, PlatformConfig, load_config
from emr_platform.launcher import SparkJob, SparkLauncher
from emr_platform.spec import Source, SparkAssetSpec
from emr_platform.spec_inputs import DeclaredKeys, input_problems


def resource_key(substrate: str) -> str:
    """The resource key of a substrate's launcher, e.g. ``spark_emr_serverless``."""
    return "spark_" + substrate.replace("-", "_")


def resolve_substrate(config: PlatformConfig, team: str, spec: SparkAssetSpec) -> str:
    """Stage's per-asset override, then the stage's forced substrate, then the spec's, then the team's."""
    key = f"{team}/{spec.domain}/{spec.table}"
    return (
        config.execution.asset_substrates.get(key)
        or config.execution.force_substrate
        or spec.substrate
        or config.teams[team].substrate
    )


def _build_job(
    context: dg.AssetExecutionContext, config: PlatformConfig, team: str, spec: SparkAssetSpec, base_dir: Path
) -> SparkJob:
    key = dg.AssetKey([team, spec.domain, spec.table])
    inputs = {}
    for name, ref in spec.inputs.items():
        if isinstance(ref, Source):
            inputs[name] = {"uri": lake.source_uri(config, ref.dataset, ref.path), "format": ref.format}
        else:
            inputs[name] = {"uri": lake.asset_uri(config, dg.AssetKey(ref.split("/"))), "format": "parquet"}
    size_name = spec.job_size or config.teams[team].job_size
    substrate = resolve_substrate(config, team, spec)
    return SparkJob(
        team=team,
        asset_key=key,
        script=base_dir / spec.script,
        inputs=inputs,
        output=lake.asset_uri(config, key),
        size_name=size_name,
        size=config.job_sizes[size_name],
        checks=[check.payload() for check in spec.checks],
        params=spec.params,
        timeout_seconds=spec.timeout_seconds or config.execution.timeout_seconds,
        tags={
            "team": team,
            "asset": key.to_user_string(),
            "substrate": substrate,
            "stage": config.stage,
            "dagster-run-id": context.run.run_id,
        },
    )


def spark_asset(config: PlatformConfig, team: str, spec: SparkAssetSpec, base_dir: Path) -> dg.AssetsDefinition:
    """The Dagster asset of ``spec``: it builds a :class:`SparkJob` and runs it on its substrate's launcher."""
    key = dg.AssetKey([team, spec.domain, spec.table])
    substrate = resolve_substrate(config, team, spec)
    launcher_key = resource_key(substrate)
    if not (base_dir / spec.script).is_file():
        raise FileNotFoundError(f"{key.to_user_string()}: job script {base_dir / spec.script} not found")

    @dg.asset(
        key=key,
        description=spec.description,
        deps=list(spec.upstream_keys().values()),
        group_name=spec.domain,
        owners=[f"team:{team}", *config.teams[team].owners],
        kinds={"spark", substrate},
        tags={"team": team, "substrate": substrate, "stage": config.stage},
        metadata={
            "job_script": dg.MetadataValue.path(str(base_dir / spec.script)),
            "job_size": spec.job_size or config.teams[team].job_size,
        },
        check_specs=[dg.AssetCheckSpec(c.name, asset=key, description=c.description) for c in spec.checks],
        required_resource_keys={launcher_key},
    )
    def _spark_asset(context):  # no annotation: dagster rejects string (postponed) annotations here
        launcher: SparkLauncher = getattr(context.resources, launcher_key)
        yield from launcher.launch(context, _build_job(context, config, team, spec, base_dir))

    return _spark_asset


def team_definitions(
    team: str,
    specs: Sequence[SparkAssetSpec],
    base_dir: Path | str,
    config: PlatformConfig | None = None,
    declared_keys: DeclaredKeys | None = None,
) -> dg.Definitions:
    """The code location of ``team``: its Spark assets, one job materializing all of them, and launchers.

    ``base_dir`` is the team package's folder (job scripts are relative to it);
    ``declared_keys(team)`` gives the asset keys another team's location declares (see
    ``assets/catalog.py``). Raises ``ConfigError`` when ``team`` is not declared in config.yml,
    or a spec's input is not a declared asset of the team or of its ``upstream_teams``.
    """
    from resources import launcher_resources  # resources import the platform, not the reverse at load

    config = config or load_config()
    config.team(team)
    base_dir = Path(base_dir)
    problems = input_problems(config, team, specs, f"{base_dir.parent.name}/{base_dir.name}", declared_keys)
    if problems:
        raise ConfigError(problems)
    assets = [spark_asset(config, team, spec, base_dir) for spec in specs]
    substrates = {resolve_substrate(config, team, spec) for spec in specs}
    return dg.Definitions(
        assets=assets,
        jobs=[dg.define_asset_job("all_assets", selection=dg.AssetSelection.assets(*assets))],
        resources=launcher_resources(config, substrates),
    )
