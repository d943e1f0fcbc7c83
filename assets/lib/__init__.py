"""Builders of Dagster code locations: the SparkAsset component, the policy of a team location, its ad-hoc job and sensors.

``SparkAsset`` (the YAML component, ``type: assets.lib.SparkAsset``) is exported here:
this package is the platform's entry in Dagster's component registry.
"""

from assets.lib.components import SparkAsset

__all__ = ["SparkAsset"]
