"""Applications on top of the platform: the demo (`make demo`), the `emr-platform` command line and its scaffolding."""
