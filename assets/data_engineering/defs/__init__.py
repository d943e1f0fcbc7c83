"""YAML-declared Spark assets of team data-engineering: one folder per asset with its defs.yaml."""
