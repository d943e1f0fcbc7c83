"""Builds a team's code location (one ``Definitions``) from its Spark asset specs.

The specs are the team package's Python ``SPECS`` plus one per ``SparkAsset`` component declared
in a ``defs.yaml`` under the package's ``defs/`` folder (:mod:`assets.lib.components`).
Policy applied here, once, for every asset: key ``[team, domain, table]``, group = domain,
owners (``team:<team>`` plus the team's owners from config), kinds (``spark`` + substrate),
tags (team, substrate, stage), asset check specs, and the launcher resource of the
asset's substrate; its partitions, partition mappings, backfill policy, automation condition,
freshness and retry policy. Each spec is resolved once (:func:`emr_platform.spec.resolve`).
"""

from __future__ import annotations

import functools
import importlib
import re
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import dagster as dg
from dagster.components.core.component_tree import ComponentTreeException

from emr_platform import naming, substrates
from emr_platform.config import ConfigError, PlatformConfig, load_config
from emr_platform.launcher import SparkLauncher, with_metadata
from assets.lib.adhoc import adhoc_job, adhoc_substrates
from assets.lib.components import SparkAsset, SparkAssetError, display_path
from assets.lib.sensors import automation_sensor, run_failure_alert_sensor
from emr_platform.spec import ResolvedSparkAsset, SparkAssetSpec, UpstreamPartitions, resolve, spec_partitioning
from emr_platform.spec_inputs import DeclaredKeys, input_problems
from resources.launchers import launcher_resources

JOB_NAME = "all_assets"
# team -> the specs its code location declares (None: unknown, its location does not load)
DeclaredSpecs = Callable[[str], Sequence[SparkAssetSpec] | None]
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


DEFS_FOLDER = "defs"


def defs_components(package: str | None) -> list[SparkAsset]:
    """The ``SparkAsset`` components declared under ``<package>/defs/`` (none without that folder),
    in path order. Raises the component's error (file, line, field) for a bad ``defs.yaml``."""
    if package is None:
        return []
    module = importlib.import_module(package)
    if not (Path(module.__file__).parent / DEFS_FOLDER / "__init__.py").is_file():
        return []
    defs_module = importlib.import_module(f"{package}.{DEFS_FOLDER}")
    tree = dg.ComponentTree.from_module(defs_module, project_root=Path(module.__file__).parent)
    try:
        return tree.get_all_components(of_type=SparkAsset)
    except ComponentTreeException as error:
        # Dagster's message is the folder tree; the file, line and field are in its cause.
        cause = error.__cause__ or error
        if isinstance(cause, SparkAssetError):
            raise cause from None
        raise SparkAssetError(schema_errors(cause) or f"{package}.{DEFS_FOLDER}: a defs.yaml does not load: {cause}") from None


def duplicate_problems(team: str, specs: Sequence[SparkAssetSpec], where, label: str) -> list[str]:
    """One line per asset key declared more than once (in Python and YAML, or twice in YAML)."""
    seen: set[tuple[str, str]] = set()
    problems = []
    for spec in specs:
        key = (spec.domain, spec.table)
        if key in seen:
            place = where(spec, "table") or label
            problems.append(f"{place}: asset {team}/{spec.domain}/{spec.table} is declared more than once")
        seen.add(key)
    return problems


# How Dagster words a schema error of a defs.yaml (pydantic's, with the source position added).
_SCHEMA_ERROR = re.compile(r"`(?P<field>[^`]+?) at (?P<file>[^`]+?):(?P<line>\d+)`\n\s+(?P<message>.+?)(?: \[type=|$)", re.M)


def schema_errors(error: Exception) -> str:
    """``<file>:<line> attributes.<field>: <message>`` per schema error of ``error``, one a line ('' if none)."""
    return "\n".join(
        f"{display_path(m['file'])}:{m['line']} {m['field']}: {m['message']}" for m in _SCHEMA_ERROR.finditer(str(error))
    )


def team_definitions(
    team: str,
    specs: Sequence[SparkAssetSpec],
    base_dir: Path | str,
    config: PlatformConfig | None = None,
    declared_keys: DeclaredKeys | None = None,
    declared_specs: DeclaredSpecs | None = None,
    package: str | None = None,
) -> dg.Definitions:
    """The code location of ``team``: its Spark assets, one job materializing all of them, the
    team's ad-hoc job (:mod:`assets.lib.adhoc`), launchers, the automation condition
    sensor and the run failure alert sensor.

    ``specs`` are the team's Python specs; given ``package`` (the team package's module name),
    the ``SparkAsset`` components of its ``defs/`` folder are added. ``base_dir`` is the team
    package's folder (job scripts are relative to it). ``declared_specs(team)`` gives the specs
    another team's location declares (see ``assets/catalog.py``; ``None`` when it does not load):
    an input must be one of them and its partitioning is checked against its upstream's;
    ``declared_keys(team)`` gives only the keys. Raises ``ConfigError`` when ``team`` is not
    declared in config.yml, or a spec's input is not a declared asset of the team or of its
    ``upstream_teams`` (naming the ``defs.yaml`` file and line of a YAML asset);
    ``FileNotFoundError`` for a missing job script; ``SparkAssetError`` for a bad ``defs.yaml``.
    """
    config = config or load_config()
    config.team(team)
    if declared_specs is not None:
        declared_specs = functools.cache(declared_specs)  # each upstream team's defs/ read once per load
    base_dir = Path(base_dir)
    components = defs_components(package)
    specs = [*specs, *(component.spec() for component in components)]
    yaml_fields = {(c.domain, c.table): c.where for c in components}

    def where(spec: SparkAssetSpec, *field_path: str) -> str | None:
        locate = yaml_fields.get((spec.domain, spec.table))
        return locate(*field_path) if locate else None

    label = f"{base_dir.parent.name}/{base_dir.name}"
    if declared_specs is not None and declared_keys is None:
        def declared_keys(owner: str) -> set[str] | None:
            owned = declared_specs(owner)
            return None if owned is None else {f"{owner}/{s.domain}/{s.table}" for s in owned}
    problems = duplicate_problems(team, specs, where, label) + input_problems(
        config, team, specs, label, declared_keys, where
    )
    if problems:
        raise ConfigError(problems)
    upstream = upstream_partitions(config, team, specs, declared_specs)
    resolved = [resolve(config, team, spec, base_dir, upstream, label, where) for spec in specs]
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
    declared_specs: DeclaredSpecs | None,
) -> UpstreamPartitions:
    """``{"team/domain/table": (partitioning, partition column)}`` of the assets ``team`` may read:
    its own ``specs`` and, given ``declared_specs``, its upstream teams'. A spec whose partitioning
    does not resolve is left out (its own location reports it)."""
    owned = [(team, spec) for spec in specs]
    if declared_specs is not None:
        owned += [(owner, spec) for owner in config.team(team).upstream_teams for spec in declared_specs(owner) or ()]
    found = {}
    for owner, spec in owned:
        try:
            found[f"{owner}/{spec.domain}/{spec.table}"] = (spec_partitioning(config, owner, spec), spec.partition_column)
        except ValueError:
            continue
    return found
