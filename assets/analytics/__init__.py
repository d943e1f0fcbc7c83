"""Code location of team analytics: carrier on-time performance, built on data-engineering's tables."""

from pathlib import Path

from assets.catalog import declared_specs
from emr_platform.locations.factory import team_definitions
from emr_platform.spec import SparkAssetSpec, between, non_empty, not_null, references, unique

SPECS = [
    SparkAssetSpec(
        domain="performance",
        table="carrier_monthly",
        script="jobs/carrier_monthly.py",
        description="Per carrier and month: flights, cancellations, on-time rate (arrival delay <= 15 min), mean arrival delay.",
        inputs={"flights": "data-engineering/core/flights_clean", "airlines": "data-engineering/raw/airlines"},
        checks=(
            non_empty(),
            not_null("carrier", "carrier_name", "month"),
            unique("carrier", "month"),
            between("on_time_rate", 0, 1),
            between("month", 1, 12),
            references("carrier", "airlines"),
        ),
        partitions="monthly_2013",
        partition_column="month_start",
        input_partitions={"flights": "window"},  # a month reads the days of data-engineering's daily table
        automation={"on_cron": "0 7 2 * *"},  # the 2nd of each month, 07:00 New York time
    ),
]

defs = team_definitions("analytics", SPECS, Path(__file__).parent, declared_specs=declared_specs)
