"""The EMR launchers: EMR Serverless job runs and EMR on EC2 steps, through dagster-aws's Pipes clients."""

from resources.emr.classic import EmrClassicLauncher
from resources.emr.serverless import EmrServerlessLauncher

__all__ = ["EmrClassicLauncher", "EmrServerlessLauncher"]
