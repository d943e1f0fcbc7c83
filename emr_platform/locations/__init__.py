"""Builders of Dagster code locations: the platform's policy for team locations, and loading the workspace."""
