"""YAML-declared Spark assets of team analytics: one folder per asset with its defs.yaml."""
