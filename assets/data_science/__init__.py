"""Code location of team data-science: flight x weather features and a departure-delay model."""

from pathlib import Path

from assets.catalog import declared_specs
from assets.lib.factory import team_definitions
from emr_platform.spec import SparkAsset, between, metric_at_least, non_empty, not_null, references, unique

SPECS = [
    SparkAsset(
        domain="features",
        table="flight_weather",
        script="jobs/flight_weather.py",
        description="Flown flights joined with the weather at their origin in their scheduled hour.",
        inputs={"flights": "data-engineering/core/flights_clean", "weather": "data-engineering/raw/weather"},
        checks=(
            non_empty(),
            not_null("flight_id", "delayed"),
            unique("flight_id"),
            between("humid", 0, 100),
            references("flight_id", "flights"),
        ),
        partitions="daily_2013",
        partition_column="flight_date",
        automation="eager",
    ),
    SparkAsset(
        domain="models",
        table="delay_model",
        script="jobs/delay_model.py",
        description="Logistic regression of 'departure delay > 15 min' (Spark MLlib): one row per coefficient; AUC as metadata.",
        inputs={"features": "data-science/features/flight_weather"},
        params={"test_fraction": 0.2, "seed": 42},
        checks=(non_empty(), not_null("feature", "coefficient"), metric_at_least("auc", 0.5)),
        automation={"on_cron": "0 6 * * 1"},  # retrained every Monday at 06:00, New York time
    ),
]

defs = team_definitions(
    "data-science", SPECS, Path(__file__).parent, declared_specs=declared_specs, package=__name__
)
