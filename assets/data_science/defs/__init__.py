"""YAML-declared Spark assets of team data-science: one folder per asset with its defs.yaml."""
