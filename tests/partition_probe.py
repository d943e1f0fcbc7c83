"""A job script that writes what it saw of its partition, to prove what each substrate passes.

Each run writes one row per day of its partition(s): the day (the partition column), the key
range and time window the job received through Pipes, and the run's ``marker`` param; it fails
on the day ``fail_on`` when that param is set, before writing anything.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg

PROBE_SCRIPT = '''import datetime as dt

import jobkit


def transform(spark, inputs, params, partition):
    if params.get("fail_on") in partition.keys:
        raise ValueError(f"refusing partition {params['fail_on']}")
    days = (partition.end_date - partition.start_date).days
    rows = [
        (partition.start_date + dt.timedelta(days=i), partition.keys[0], partition.keys[-1],
         partition.start.isoformat(), partition.end.isoformat(), params.get("marker", ""))
        for i in range(days)
    ]
    schema = "day date, first_key string, last_key string, window_start string, window_end string, marker string"
    return spark.createDataFrame(rows, schema)


jobkit.run(transform)
'''

DAILY = {"kind": "daily", "start": "2013-01-01", "end": "2013-02-01", "timezone": "America/New_York"}


def probe_definitions(config, team: str, folder: Path, **spec) -> tuple[dg.Definitions, dg.AssetKey]:
    """A location of ``team`` holding one daily asset ``[team, probe, days]`` (January 2013) running the probe."""
    from assets.lib.factory import team_definitions
    from emr_platform.spec import SparkAsset, non_empty, unique

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "probe.py").write_text(PROBE_SCRIPT)
    asset = SparkAsset(
        domain="probe", table="days", script="probe.py", description="what the job saw of its partitions",
        checks=(non_empty(), unique("day")), partitions=DAILY, partition_column="day", **spec,
    )
    return team_definitions(team, [asset], folder, config=config), dg.AssetKey([team, "probe", "days"])


def run_partitions(defs: dg.Definitions, first: str, last: str | None = None, instance=None):
    """Execute the probe over one key (``first``) or the range ``first .. last`` (a single-run backfill's tags)."""
    tags = (
        {"dagster/partition": first}
        if last is None
        else {"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last}
    )
    job = defs.resolve_implicit_global_asset_job_def()
    return job.execute_in_process(tags=tags, instance=instance, raise_on_error=False)


def written(lake_table: Path | str, filesystem=None) -> dict[str, list[tuple]]:
    """``{day: sorted rows}`` of the probe's table, read with pyarrow (no Spark): what is stored,
    in ``day=`` partition folders, on local disk or on ``filesystem`` (a ``pyarrow.fs`` one)."""
    import pyarrow.fs as pafs
    import pyarrow.parquet as pq

    filesystem = filesystem or pafs.LocalFileSystem()
    found: dict[str, list[tuple]] = {}
    infos = filesystem.get_file_info(pafs.FileSelector(str(lake_table), allow_not_found=True))
    for folder in sorted(i.path for i in infos if i.type == pafs.FileType.Directory and "/day=" in f"/{i.base_name}"):
        table = pq.read_table(folder, filesystem=filesystem)
        rows = sorted(zip(*(table.column(c).to_pylist() for c in table.column_names)))
        found[folder.rsplit("day=", 1)[1]] = rows
    return found
