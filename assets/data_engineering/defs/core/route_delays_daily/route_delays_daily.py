"""Daily route delays: per origin, destination and day, flights flown, mean and p95 departure delay."""

from pyspark.sql import functions as F

import jobkit


def transform(spark, inputs, params):
    flown = inputs["flights"].where(~F.col("cancelled"))
    return flown.groupBy("origin", "dest", "flight_date").agg(
        F.count("*").alias("flights"),
        F.round(F.avg("dep_delay"), 2).alias("mean_dep_delay"),
        F.percentile_approx("dep_delay", 0.95).alias("p95_dep_delay"),
    )


if __name__ == "__main__":
    jobkit.run(transform)
