-- Carrier on-time performance by month, with the carrier's full name.
-- A flight counts for the on-time rate and the mean delay when it flew and has an arrival delay.
-- month_start (the first day of the month) holds the monthly partition; the flights view holds
-- only the days of the month (or months) the run covers.
WITH monthly AS (
  SELECT
    f.carrier,
    f.month,
    TRUNC(f.flight_date, 'month') AS month_start,
    COUNT(*) AS flights,
    SUM(CAST(f.cancelled AS INT)) AS cancelled,
    ROUND(AVG(CASE WHEN NOT f.cancelled AND f.arr_delay IS NOT NULL THEN CAST(f.arr_delay <= 15 AS DOUBLE) END), 4) AS on_time_rate,
    ROUND(AVG(CASE WHEN NOT f.cancelled AND f.arr_delay IS NOT NULL THEN f.arr_delay END), 2) AS mean_arr_delay
  FROM flights AS f
  GROUP BY f.carrier, f.month, TRUNC(f.flight_date, 'month')
)
SELECT m.carrier, m.month, m.month_start, m.flights, m.cancelled, m.on_time_rate, m.mean_arr_delay, a.name AS carrier_name
FROM monthly AS m
LEFT JOIN airlines AS a ON m.carrier = a.carrier
