"""A team's code location (one ``Definitions``): Dagster's loading of its ``defs/`` folder plus its
Python ``SPECS``, one validation pass over the loaded assets, one policy mapped over them.

Every asset is an :class:`~emr_platform.spec.SparkAsset` (declared in a ``defs.yaml`` or in
Python); its ``build_defs`` makes the asset, its checks and partitions (:mod:`emr_platform.spec`).
Here, once per location: each ``defs.yaml`` read strictly before Dagster parses it
(:func:`defs_yaml_problems`), the loaded assets validated together (:func:`validate`: keys declared
once, inputs of this team or its ``upstream_teams`` that their locations declare; partition
compatibility is checked as each asset maps its inputs' partitions), and the policy
(:func:`policy`: owners ``team:<team>`` plus the team's owners from config, the group of the
domain, tags team and stage) mapped over the built specs; then the job of all assets, the ad-hoc
job, the sensors and the launchers.
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

from emr_platform import naming, tags, yaml_safety
from emr_platform.config import ConfigError, PlatformConfig, load_config
from assets.lib.adhoc import adhoc_job, adhoc_substrates
from assets.lib.components import SparkAsset, SparkAssetError, display_path
from assets.lib.sensors import automation_sensor, run_failure_alert_sensor
from emr_platform.spec import Location, TeamComponentTree, UpstreamPartitions, spec_partitioning
from emr_platform.spec_inputs import DeclaredKeys, input_problems
from resources.launchers import launcher_resources

JOB_NAME = "all_assets"
DEFS_FOLDER = "defs"
COMPONENT_METADATA = ("dagster/code_references", "dagster/component_origin")
# team -> the specs its code location declares (None: unknown, its location does not load)
DeclaredSpecs = Callable[[str], Sequence[SparkAsset] | None]
# dagster 1.13 marks @asset's backfill_policy as beta and warns for every partitioned asset it builds
warnings.filterwarnings("ignore", category=dg.BetaWarning, message=".*backfill_policy.*")
warnings.filterwarnings("ignore", category=dg.PreviewWarning, message=".*map_(resolved_)?asset_specs.*")


def policy(config: PlatformConfig, team: str) -> Callable[[dg.AssetSpec], dg.AssetSpec]:
    """The platform's policy for an asset of ``team``'s location: group ``<team>_<domain>``,
    owners ``team:<team>`` and the team's owners in config.yml, kinds ``spark`` and the asset's
    substrate (the tag its ``build_defs`` resolved), tags team and stage."""
    owners = [f"team:{team}", *config.team(team).owners]

    def apply(spec: dg.AssetSpec) -> dg.AssetSpec:
        # Dagster marks what a component built with its origin; a YAML asset's definition stays
        # the same as the Python spec's (the defs.yaml is named in every error instead).
        metadata = {k: v for k, v in spec.metadata.items() if k not in COMPONENT_METADATA}
        return spec.replace_attributes(
            group_name=naming.group_name(team, spec.key.path[1]), metadata=metadata
        ).merge_attributes(
            owners=owners, kinds={"spark", spec.tags[tags.SUBSTRATE]}, tags={tags.TEAM: team, tags.STAGE: config.stage}
        )

    return apply


def upstream_specs(config: PlatformConfig, team: str, specs: Sequence[SparkAsset]) -> list[dg.AssetSpec]:
    """Other teams' assets this location reads, declared in their owners' groups with their owners
    (instead of Dagster's implicit ``default`` group), so the lineage shows whose they are."""
    keys = {key for spec in specs for key in spec.upstream_keys().values() if key.path[0] != team}
    return [
        dg.AssetSpec(
            key,
            group_name=naming.group_name(key.path[0], key.path[1]),
            owners=[f"team:{key.path[0]}", *config.team(key.path[0]).owners],
            tags={tags.TEAM: key.path[0]},
        )
        for key in sorted(keys, key=lambda k: k.to_user_string())
    ]


def defs_tree(package: str | None) -> TeamComponentTree | None:
    """Dagster's component tree of ``<package>/defs/`` (None without that folder), each of its
    ``defs.yaml`` files read strictly first. Raises :class:`SparkAssetError` naming the file."""
    if package is None:
        return None
    module = importlib.import_module(package)
    root = Path(module.__file__).parent
    if not (root / DEFS_FOLDER / "__init__.py").is_file():
        return None
    problems = defs_yaml_problems(root / DEFS_FOLDER)
    if problems:
        raise SparkAssetError("\n".join(problems))
    return TeamComponentTree(defs_module=importlib.import_module(f"{package}.{DEFS_FOLDER}"), project_root=root)


_TYPE_LINE = re.compile(rb"^type\s*:", re.M)
NEWLINE = b"\n"


def defs_yaml_problems(folder: Path) -> list[str]:
    """One line per ``defs.yaml`` under ``folder`` that Dagster should not parse: not UTF-8, not
    YAML, a key twice, too large once aliases expand (config.yml's strict reader,
    :mod:`emr_platform.yaml_safety`, refuses an alias bomb in well under a second), empty, not a
    mapping, or a ``type:`` that names no Dagster component."""
    problems = []
    for path in sorted(folder.rglob("defs.yaml")):
        label = display_path(path)
        raw = path.read_bytes()
        try:
            document = yaml_safety.load_yaml(raw, label)
        except yaml_safety.YamlRefused as refused:
            problems += refused.problems
            continue
        if document is None:
            problems.append(f"{label}: expected a component (`type: assets.lib.SparkAsset` and its `attributes`), got an empty file")
        elif not isinstance(document, dict):
            problems.append(f"{label}: expected a mapping with `type` and `attributes`, got {type(document).__name__}")
        else:
            found = _TYPE_LINE.search(raw)
            where = f"{label}:{raw.count(NEWLINE, 0, found.start()) + 1} type" if found else f"{label}: type"
            problem = component_type_problem(document.get("type"))
            if problem:
                problems.append(f"{where}: {problem}")
    return problems


def component_type_problem(name: object) -> str | None:
    """What is wrong with ``type: <name>`` of a defs.yaml (None: it names a Dagster component)."""
    expected = "expected a Dagster component such as assets.lib.SparkAsset"
    if not isinstance(name, str) or "." not in name:
        return f"{expected}, got {name!r}"
    module_name, _, attribute = name.rpartition(".")
    try:
        module = importlib.import_module(module_name)  # what Dagster imports next to load the file
    except ModuleNotFoundError:
        return f"{expected}, got {name!r} (there is no module {module_name})"
    found = getattr(module, attribute, None)
    if not (isinstance(found, type) and issubclass(found, dg.Component)):
        return f"{expected}, got {name!r} (not a component: {type(found).__name__ if found is not None else 'no such name'})"
    return None


def _unwrapped(error: ComponentTreeException, package: str) -> Exception:
    """The problem behind Dagster's error (whose message is the folder tree): the file, line and field."""
    cause = error.__cause__ or error
    while isinstance(cause, ComponentTreeException) and cause.__cause__ is not None:
        cause = cause.__cause__
    if isinstance(cause, (SparkAssetError, ConfigError, FileNotFoundError)):
        return cause
    return SparkAssetError(schema_errors(cause) or f"{package}.{DEFS_FOLDER}: a defs.yaml does not load: {cause}")


def defs_components(package: str | None) -> list[SparkAsset]:
    """The ``SparkAsset`` components declared under ``<package>/defs/`` (none without that folder),
    in path order. Raises the component's error (file, line, field) for a bad ``defs.yaml``."""
    tree = defs_tree(package)
    return _components(tree, package) if tree else []


def _components(tree: dg.ComponentTree, package: str) -> list[SparkAsset]:
    try:
        return tree.get_all_components(of_type=SparkAsset)
    except ComponentTreeException as error:
        raise _unwrapped(error, package) from None


def duplicate_problems(team: str, specs: Sequence[SparkAsset], label: str) -> list[str]:
    """One line per asset key declared more than once (in Python and YAML, or twice in YAML)."""
    seen: set[tuple[str, str]] = set()
    problems = []
    for spec in specs:
        key = (spec.domain, spec.table)
        if key in seen:
            problems.append(f"{spec.where('table') or label}: asset {team}/{spec.domain}/{spec.table} is declared more than once")
        seen.add(key)
    return problems


def _locate(spec: SparkAsset, *field_path: str | int) -> str | None:
    return spec.where(*field_path)


def validate(
    config: PlatformConfig, team: str, specs: Sequence[SparkAsset], label: str, declared_keys: DeclaredKeys | None
) -> None:
    """The validation pass over a location's loaded assets: raises ``ConfigError`` with one line per
    key declared twice and per input that is not a declared asset of the team or of its
    ``upstream_teams`` (see :func:`emr_platform.spec_inputs.input_problems`)."""
    problems = duplicate_problems(team, specs, label) + input_problems(config, team, specs, label, declared_keys, _locate)
    if problems:
        raise ConfigError(problems)


# How Dagster words a schema error of a defs.yaml (pydantic's, with the source position added).
_SCHEMA_ERROR = re.compile(r"`(?P<field>[^`]+?) at (?P<file>[^`]+?):(?P<line>\d+)`\n\s+(?P<message>.+?)(?: \[type=|$)", re.M)


def schema_errors(error: Exception) -> str:
    """``<file>:<line> attributes.<field>: <message>`` per schema error of ``error``, one a line ('' if none)."""
    return "\n".join(
        f"{display_path(m['file'])}:{m['line']} {m['field']}: {m['message']}" for m in _SCHEMA_ERROR.finditer(str(error))
    )


def team_definitions(
    team: str,
    specs: Sequence[SparkAsset],
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
    Dagster loads the ``SparkAsset`` components of its ``defs/`` folder and builds them. ``base_dir``
    is the team package's folder (job scripts are relative to it). ``declared_specs(team)`` gives
    the specs another team's location declares (see ``assets/catalog.py``; ``None`` when it does
    not load): an input must be one of them and its partitioning is checked against its upstream's;
    ``declared_keys(team)`` gives only the keys. Raises ``ConfigError`` when ``team`` is not
    declared in config.yml, or a spec's input is not a declared asset of the team or of its
    ``upstream_teams`` (naming the ``defs.yaml`` file and line of a YAML asset);
    ``FileNotFoundError`` for a missing job script; ``SparkAssetError`` for a bad ``defs.yaml``.
    """
    config = config or load_config()
    config.team(team)
    if declared_specs is not None:
        declared_specs = functools.cache(declared_specs)  # each upstream team's defs/ read once per load
        if declared_keys is None:
            def declared_keys(owner: str) -> set[str] | None:
                owned = declared_specs(owner)
                return None if owned is None else {f"{owner}/{s.domain}/{s.table}" for s in owned}
    base_dir = Path(base_dir)
    label = f"{base_dir.parent.name}/{base_dir.name}"
    tree = defs_tree(package)
    loaded = [*specs, *(_components(tree, package) if tree else ())]
    validate(config, team, loaded, label, declared_keys)
    location = Location(team, config, base_dir, upstream_partitions(config, team, loaded, declared_specs), label)
    built = [spec.definitions(location) for spec in specs]
    if tree is not None:
        tree.location = location  # what each SparkAsset's build_defs builds for
        try:
            built.append(tree.build_defs())
        except ComponentTreeException as error:
            raise _unwrapped(error, package) from None
    own = dg.Definitions.merge(*built).map_asset_specs(func=policy(config, team))
    assets = list(own.assets)
    substrates_used = {spec.tags[tags.SUBSTRATE] for asset in assets for spec in asset.specs}
    used = substrates_used | set(adhoc_substrates(config))  # ad-hoc runs may pick any
    return dg.Definitions(
        assets=[*assets, *upstream_specs(config, team, loaded)],
        jobs=[dg.define_asset_job(JOB_NAME, selection=dg.AssetSelection.assets(*assets)), adhoc_job(config, team)],
        sensors=[automation_sensor(team, assets), run_failure_alert_sensor(config, team)],
        resources=launcher_resources(config, used),
    )


def upstream_partitions(
    config: PlatformConfig,
    team: str,
    specs: Sequence[SparkAsset],
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
