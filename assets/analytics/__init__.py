"""Code location of team analytics: carrier on-time performance, built on data-engineering's tables.

Its assets are declared in YAML under ``defs/`` (``performance/carrier_monthly`` is a Spark SQL
asset); Python specs would go in ``SPECS``.
"""

from pathlib import Path

from assets.catalog import declared_specs
from assets.lib.factory import team_definitions
from emr_platform.spec import SparkAsset

SPECS: list[SparkAsset] = []

defs = team_definitions(
    "analytics", SPECS, Path(__file__).parent, declared_specs=declared_specs, package=__name__
)
