"""Where data lives, in one package: lake URIs of assets and resolved URIs of external sources
(here), a team's S3 prefixes (:mod:`emr_platform.lake.prefixes`) and the local-or-S3 storage of a
team's lake prefix (:mod:`emr_platform.lake.storage`).

Pure naming, except :func:`source_uri`, which on first use unpacks package data
(``pkg://`` sources, stage ``local``) into ``<lake root>/_landing/`` so Spark can read it.
"""

from __future__ import annotations

import importlib.util
import shutil
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

from emr_platform.config import ConfigError, PlatformConfig

if TYPE_CHECKING:  # only a type here: the command line's session and file commands start without dagster
    import dagster as dg

LANDING = "_landing"


def join(root: str, *parts: str) -> str:
    """Join URI or path segments with single slashes."""
    return "/".join([root.rstrip("/"), *(p.strip("/") for p in parts)])


def asset_uri(config: PlatformConfig, key: dg.AssetKey) -> str:
    """``<lake root>/<team>/<domain>/<table>``: where asset ``key`` is stored as parquet."""
    return join(config.lake.root, *key.path)


def team_prefix(config: PlatformConfig, team: str) -> str:
    """The lake prefix a team owns: ``<lake root>/<team>``."""
    return join(config.lake.root, team)


def _package_dir(uri: str) -> Path:
    package, _, folder = uri.removeprefix("pkg://").partition("/")
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError([f"sources: package {package!r} of {uri!r} is not installed"])
    return Path(next(iter(spec.submodule_search_locations))) / folder


def source_uri(config: PlatformConfig, dataset: str, path: str) -> str:
    """The URI of file ``path`` of source ``dataset`` (see ``sources`` in config.yml).

    ``pkg://<package>/<folder>`` sources are copied, or unzipped from ``<path>.zip``,
    into ``<lake root>/_landing/<dataset>/`` once, without importing the package.
    Raises ``ConfigError`` for an undeclared dataset and ``FileNotFoundError`` for a
    missing file.
    """
    if dataset not in config.sources:
        raise ConfigError([f"config.yml: sources.{dataset}: source is not declared"])
    root = config.sources[dataset]
    if not root.startswith("pkg://"):
        return join(root, path)
    if config.lake.is_s3:
        raise ConfigError([f"sources.{dataset}: pkg:// sources need a local lake, got {config.lake.root}"])
    target = Path(config.lake.root) / LANDING / dataset / path
    if not target.exists():
        origin = _package_dir(root) / path
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(target.suffix + ".partial")
        if origin.exists():
            shutil.copyfile(origin, partial)
        elif origin.with_name(origin.name + ".zip").exists():
            with zipfile.ZipFile(origin.with_name(origin.name + ".zip")) as archive, archive.open(origin.name) as src:
                with open(partial, "wb") as dst:
                    shutil.copyfileobj(src, dst)
        else:
            raise FileNotFoundError(f"source {dataset}: {origin} (or {origin.name}.zip) not found")
        partial.replace(target)  # atomic, so concurrent runs never read half a file
    return str(target)
