"""Partitions of Spark assets: named partitionings, partition mappings, backfill policies and the
partition scope a run hands its job.

Plain data first: :class:`PartitioningSettings` (an entry of ``partitionings`` in config.yml, or
inline in a spec) and :class:`BackfillSettings`. Each becomes Dagster's own object
(``DailyPartitionsDefinition``, ``MonthlyPartitionsDefinition``, ``StaticPartitionsDefinition``,
``IdentityPartitionMapping``, ``TimeWindowPartitionMapping``, ``AllPartitionMapping``,
``BackfillPolicy``) in one function each. :class:`PartitionScope` is what one run covers (a key
or a contiguous range, with its time window) as the JSON the job script receives in its Pipes
extras: Dagster's own Pipes context leaves the range of a single-run backfill out.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, field_validator, model_validator

from emr_platform.settings import SettingsModel

# dagster is imported where its objects are built, not here: loading config.yml (the CLI, Pulumi)
# validates these settings without paying dagster's import (about 2 s).
if TYPE_CHECKING:
    import dagster as dg

TIME_KINDS = ("daily", "monthly")
MAPPINGS = ("identity", "window", "all")


def check_timezone(name: str) -> str:
    """``name`` if it is an IANA time zone (``America/New_York``); raises ``ValueError`` otherwise."""
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"expected an IANA time zone such as 'UTC' or 'America/New_York', got {name!r}") from None
    return name


class PartitioningSettings(SettingsModel):
    """How an asset is split into partitions.

    ``kind`` ``daily`` or ``monthly``: time windows from ``start`` to ``end`` (a date, exclusive,
    as Dagster's ``end_date``; none: up to now) in ``timezone``; ``static``: the ``keys``.
    """

    kind: Literal["daily", "monthly", "static"]
    start: dt.date | None = Field(None, description="First day of the first partition (time kinds).")
    end: dt.date | None = Field(None, description="Day after the last partition (exclusive; time kinds).")
    timezone: str = Field("UTC", description="IANA time zone of the time windows.")
    keys: list[str] = Field(default_factory=list, description="The partition keys (kind static).")

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        return check_timezone(value)

    @model_validator(mode="after")
    def _fields_of_kind(self) -> PartitioningSettings:
        if self.kind in TIME_KINDS:
            if self.start is None:
                raise ValueError(f"expected start (a date) for kind {self.kind}")
            if self.keys:
                raise ValueError(f"expected no keys for kind {self.kind}")
            if self.end is not None and self.end <= self.start:
                raise ValueError(f"expected end after start, got {self.start} .. {self.end}")
            if self.kind == "monthly" and (self.start.day != 1 or (self.end and self.end.day != 1)):
                raise ValueError("expected start and end on the first day of a month for kind monthly")
        elif not self.keys or len(set(self.keys)) != len(self.keys):
            raise ValueError("expected a non-empty list of distinct keys for kind static")
        return self

    def definition(self) -> dg.PartitionsDefinition:
        """Dagster's partitions definition of these settings."""
        import dagster as dg

        if self.kind == "static":
            return dg.StaticPartitionsDefinition(list(self.keys))
        cls = dg.DailyPartitionsDefinition if self.kind == "daily" else dg.MonthlyPartitionsDefinition
        end = {"end_date": self.end.isoformat()} if self.end else {}
        return cls(start_date=self.start.isoformat(), timezone=self.timezone, **end)


class BackfillSettings(SettingsModel):
    """How a backfill of a partitioned asset is split into runs: ``single_run`` (the whole range in
    one run: one EMR job run or step) or ``multi_run`` (at most ``max_partitions_per_run`` each)."""

    policy: Literal["single_run", "multi_run"] = "single_run"
    max_partitions_per_run: int | None = Field(None, ge=1)

    @model_validator(mode="after")
    def _max_for_multi_run(self) -> BackfillSettings:
        if (self.policy == "multi_run") != (self.max_partitions_per_run is not None):
            raise ValueError("expected max_partitions_per_run with policy multi_run, and only then")
        return self

    def policy_definition(self) -> dg.BackfillPolicy:
        """Dagster's ``BackfillPolicy``."""
        import dagster as dg

        if self.policy == "single_run":
            return dg.BackfillPolicy.single_run()
        return dg.BackfillPolicy.multi_run(max_partitions_per_run=self.max_partitions_per_run)


def partition_mapping(
    mapping: str | None, downstream: PartitioningSettings | None, upstream: PartitioningSettings | None
) -> dg.PartitionMapping | None:
    """The Dagster partition mapping of an input, or None when there is nothing to map.

    ``mapping`` is ``identity`` (same partitioning), ``window`` (time windows of one granularity
    over another's, e.g. monthly over daily), ``all`` (every upstream partition) or None (implied:
    identity for the same partitioning, all when only one side is partitioned). Raises
    ``ValueError`` saying what was expected when the two sides need a mapping the input lacks,
    or the mapping does not fit them.
    """
    import dagster as dg

    if mapping is not None and mapping not in MAPPINGS:
        raise ValueError(f"expected one of {', '.join(MAPPINGS)}, got {mapping!r}")
    if mapping == "all":
        return dg.AllPartitionMapping() if upstream else None
    if downstream is None or upstream is None:
        if mapping is not None:
            raise ValueError(f"expected 'all' or no mapping (one side is unpartitioned), got {mapping!r}")
        return None
    if mapping is None:
        if downstream != upstream:
            raise ValueError(
                f"expected a partition mapping ('window' or 'all'): this asset is {describe(downstream)}, "
                f"its input {describe(upstream)}"
            )
        mapping = "identity"
    if mapping == "identity":
        if downstream != upstream:
            raise ValueError(f"expected the same partitioning for 'identity', got {describe(downstream)} over {describe(upstream)}")
        return dg.IdentityPartitionMapping()
    if downstream.kind not in TIME_KINDS or upstream.kind not in TIME_KINDS:
        raise ValueError("expected time-window partitions on both sides for 'window'")
    return dg.TimeWindowPartitionMapping()


def describe(settings: PartitioningSettings) -> str:
    """``daily from 2013-01-01 to 2014-01-01 (America/New_York)`` or ``static [a, b]``."""
    if settings.kind == "static":
        return f"static [{', '.join(settings.keys)}]"
    return f"{settings.kind} from {settings.start} to {settings.end or 'now'} ({settings.timezone})"


@dataclass(frozen=True)
class PartitionScope:
    """The partitions one run covers: one key, or the contiguous range ``keys[0] .. keys[-1]`` of a
    single-run backfill. ``start`` and ``end`` bound its time window (tz-aware, end exclusive;
    None for static partitions); ``column`` is the output column that holds the partition."""

    kind: str
    column: str
    keys: tuple[str, ...]
    timezone: str | None = None
    start: dt.datetime | None = None
    end: dt.datetime | None = None

    @property
    def label(self) -> str:
        """``2013-03-01`` or ``2013-03-01...2013-03-31``: the key or range, as Dagster writes ranges."""
        return self.keys[0] if len(self.keys) == 1 else f"{self.keys[0]}...{self.keys[-1]}"

    def filter(self, column: str | None = None) -> dict[str, Any]:
        """The row filter of this scope on ``column`` (default: the asset's own): local dates
        ``start`` (inclusive) .. ``end`` (exclusive) for time windows, else the keys."""
        column = column or self.column
        if self.start is None:
            return {"column": column, "keys": list(self.keys)}
        return {"column": column, "start": self.start.date().isoformat(), "end": self.end.date().isoformat()}

    def extras(self) -> dict[str, Any]:
        """What the job receives as the ``partition`` Pipes extra (JSON)."""
        window = {"start": self.start.isoformat(), "end": self.end.isoformat()} if self.start else {}
        return {
            "kind": self.kind,
            "column": self.column,
            "keys": list(self.keys),
            "key_range": {"start": self.keys[0], "end": self.keys[-1]},
            "time_window": window or None,
            "timezone": self.timezone,
            "filter": self.filter(),
        }


def scope(settings: PartitioningSettings, column: str, keys: list[str], where: str) -> PartitionScope:
    """The :class:`PartitionScope` of a run over ``keys`` (one key or a range, in order).

    Raises ``ValueError`` starting with ``where`` (the asset key) when a key is not a partition of
    ``settings`` or the keys are not one contiguous range of it.
    """
    definition = settings.definition()
    all_keys = definition.get_partition_keys()
    index = {key: i for i, key in enumerate(all_keys)}
    unknown = [key for key in keys if key not in index]
    if not keys or unknown:
        raise ValueError(
            f"{where}: expected partition keys of {describe(settings)}, got {unknown or 'none'}"
        )
    positions = [index[key] for key in keys]
    if positions != list(range(positions[0], positions[0] + len(positions))):
        raise ValueError(f"{where}: expected one contiguous range of partitions, got {keys[0]} .. {keys[-1]} with gaps")
    if settings.kind == "static":
        return PartitionScope(settings.kind, column, tuple(keys))
    first = definition.time_window_for_partition_key(keys[0])
    last = definition.time_window_for_partition_key(keys[-1])
    return PartitionScope(settings.kind, column, tuple(keys), settings.timezone, first.start, last.end)


def upstream_filter(
    downstream: PartitioningSettings,
    upstream: PartitioningSettings,
    mapping: dg.PartitionMapping,
    run: PartitionScope,
    upstream_column: str,
) -> dict[str, Any] | None:
    """The rows of an input a run of ``run`` reads: the upstream partitions ``mapping`` maps the
    run's partitions to, as a filter on ``upstream_column`` (None: every row)."""
    import dagster as dg

    if isinstance(mapping, dg.AllPartitionMapping):
        return None
    down_def, up_def = downstream.definition(), upstream.definition()
    subset = down_def.empty_subset().with_partition_keys(run.keys)
    result = mapping.get_upstream_mapped_partitions_result_for_partitions(subset, down_def, up_def)
    keys = sorted(result.partitions_subset.get_partition_keys(), key=up_def.get_partition_keys().index)
    return scope(upstream, upstream_column, keys, "upstream").filter()
