"""One Pulumi ``ComponentResource`` per concern; type tokens read ``emr-platform:<module>:<Type>``."""
