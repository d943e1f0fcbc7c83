"""Carrier on-time performance by month, with the carrier's full name.

``month_start`` (the first day of the month) holds the monthly partition.
"""

from pyspark.sql import functions as F

import jobkit


def transform(spark, inputs, params):
    airlines = inputs["airlines"].select("carrier", F.col("name").alias("carrier_name"))
    flights = inputs["flights"]
    flown = ~F.col("cancelled") & F.col("arr_delay").isNotNull()
    month_start = F.trunc(F.col("flight_date"), "month").alias("month_start")
    monthly = flights.groupBy("carrier", "month", month_start).agg(
        F.count("*").alias("flights"),
        F.sum(F.col("cancelled").cast("int")).alias("cancelled"),
        F.round(F.avg(F.when(flown, (F.col("arr_delay") <= 15).cast("double"))), 4).alias("on_time_rate"),
        F.round(F.avg(F.when(flown, F.col("arr_delay"))), 2).alias("mean_arr_delay"),
    )
    return monthly.join(airlines, "carrier", "left")


if __name__ == "__main__":
    jobkit.run(transform)
