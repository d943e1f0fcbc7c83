"""Builders of Dagster code locations: the platform's policy for team locations, and loading the workspace.

``SparkAsset`` (the YAML component, ``type: emr_platform.locations.SparkAsset``) is exported here:
this package is the platform's entry in Dagster's component registry.
"""

from emr_platform.locations.components import SparkAsset

__all__ = ["SparkAsset"]
