"""Ingest one CSV file (header row, NA = null) into the lake as parquet, types inferred.

Params: ``required_columns``: the job fails, naming what is missing, if the file lacks any.
"""

import jobkit


def transform(spark, inputs, params):
    table = inputs["source"]
    missing = sorted(set(params["required_columns"]) - set(table.columns))
    if missing:
        raise ValueError(f"source file lacks required columns {missing}; it has {table.columns}")
    return table


if __name__ == "__main__":
    jobkit.run(transform)
