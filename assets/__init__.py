"""Team code locations: one package per team in config.yml, each exposing ``defs``."""
