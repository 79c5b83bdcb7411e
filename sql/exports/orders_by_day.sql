-- Daily order totals since a date: number of orders, revenue (sum of amounts) and the
-- average order amount. Every status counts. Days are in the session time zone
-- (EXPORTER_TIMEZONE, UTC by default).
-- param: since date = 2024-01-01
SELECT o.created_at::date        AS day,
       count(*)                  AS orders,
       sum(o.amount)             AS revenue,
       round(avg(o.amount), 2)   AS avg_amount
FROM demo.orders AS o
WHERE o.created_at >= :since
GROUP BY 1
ORDER BY 1
