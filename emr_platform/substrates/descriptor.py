"""What the platform knows of one Spark substrate: the :class:`Substrate` descriptor.

One descriptor per substrate (``emr_platform/substrates/<name>.py``) is the single place its
facts live; config validation, launcher construction, the orphan sensor, cost attribution,
the command line and infra iterate over :data:`emr_platform.substrates.REGISTRY`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from emr_platform.settings import SettingsModel


@dataclass(frozen=True)
class Orphan:
    """Work a launch started whose Dagster run has ended.

    ``kind`` is ``cluster`` (``id`` = job flow id), ``step`` (``id`` = step id on cluster
    ``parent_id``), ``job-run`` (``id`` = job run id in application ``parent_id``) or
    ``session`` (a Spark Connect session in application ``parent_id``, which belongs to no
    Dagster run: ``reason`` says why it is stopped).
    """

    kind: str
    id: str
    team: str
    run_id: str
    parent_id: str | None = None
    reason: str = ""

    def describe(self) -> str:
        parent = {"step": "cluster", "job-run": "application", "session": "application"}.get(self.kind)
        where = f" of {parent} {self.parent_id}" if self.parent_id else ""
        why = self.reason or f"Dagster run {self.run_id}"
        return f"{self.kind} {self.id}{where} (team {self.team}, {why})"


@dataclass(frozen=True)
class Substrate:
    """One substrate's facts.

    - ``name``: as written in config (``teams.<t>.substrate``) and in tags and kinds;
    - ``config_key``, ``settings``, ``default_settings``: the section of ``config.yml`` holding its
      settings, that section's model, and its value when absent (``None``: the section is
      required once an asset runs on this substrate);
    - ``needs_s3_roots``: ``lake.artifacts_root`` and ``lake.logs_root`` must be ``s3://`` URIs;
    - ``bills``: whether a Cost Explorer ``SERVICE`` name (lower case) is this substrate's spend;
    - ``orphan_kinds``: the kinds of :class:`Orphan` a launch may leave running (its launcher,
      in ``resources/``, finds and stops them: AWS calls live there, not here);
    - ``release_labels``: the EMR release labels its settings section names, each with its key
      path inside the section (the config loader checks each one's Spark against pyspark's).
    """

    name: str
    config_key: str
    settings: type[SettingsModel]
    default_settings: SettingsModel | None
    needs_s3_roots: bool
    bills: Callable[[str], bool] = lambda service: False
    orphan_kinds: tuple[str, ...] = ()
    release_labels: Callable[[Any], list[tuple[tuple, str]]] = lambda settings: []

    @property
    def resource_key(self) -> str:
        """The Dagster resource key of its launcher, e.g. ``spark_emr_serverless``."""
        return "spark_" + self.name.replace("-", "_")

    @property
    def on_aws(self) -> bool:
        """True for a substrate whose work runs, and is billed, in AWS (Cost Explorer sees it)."""
        return self.needs_s3_roots
