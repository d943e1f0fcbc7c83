"""What the platform's Spark costs, per team, per asset and per day.

``explorer``: AWS Cost Explorer daily rows and their parquet partitions in the lake;
``estimates``: the ``cost_usd`` each Spark materialization recorded in Dagster's event log;
``report``: the per-team report (markdown, chart, terminal text); ``budget``: threshold
crossings per team and month; ``orphans``: EMR clusters and job runs whose Dagster run ended;
``store``: bytes in and out of a local or S3 lake.
"""
