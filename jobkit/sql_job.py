"""The job script of every SQL asset, and its execute function: runs the query in Pipes extras
``sql`` over the inputs as temporary views.

Shipped by the platform like any job script (locally on PYTHONPATH, on EMR staged with
``--py-files``), so a team's SQL asset needs no Python of its own.
"""

from typing import Any

from dagster_pipes import open_dagster_pipes
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobkit import Partition, message_writer, run_with


def run_sql() -> None:
    """Run the Spark SQL query of Pipes extras ``sql`` as a job: every input is a temporary view
    named like the input (holding only the upstream partitions the run reads), the query's result
    is the table written, reported like ``run``'s. A partitioned run binds the named parameters
    ``:partition_start`` and ``:partition_end`` (local dates, end exclusive; time partitions) or
    ``:partition_keys`` (an array of the keys; static partitions), which the query may use."""
    with open_dagster_pipes(message_writer=message_writer()) as pipes:
        query = pipes.extras["sql"]

        def transform(spark: SparkSession, inputs: dict[str, DataFrame], params: dict[str, Any], partition=None) -> DataFrame:
            for name, frame in inputs.items():
                frame.createOrReplaceTempView(name)
            return spark.sql(query, args=sql_args(partition) if partition is not None else None)

        run_with(pipes, transform)



def sql_args(partition: Partition) -> dict[str, Any]:
    """The named parameters a SQL asset's query may use for the run's ``partition``."""
    if partition.start is None:
        return {"partition_keys": F.array(*map(F.lit, partition.keys))}
    return {"partition_start": partition.start_date, "partition_end": partition.end_date}


if __name__ == "__main__":
    run_sql()
