"""The Pulumi program that builds a stage's AWS account from ``config.yml`` + ``stages/<stack>.yml``."""
