-- Test only: numbers produced slowly (pg_sleep per row), to observe streaming laziness.
-- param: rows integer = 100
-- param: delay_s double precision = 0.01
SELECT g AS n, clock_timestamp() AS produced_at
FROM generate_series(1, :rows) AS g, LATERAL (SELECT pg_sleep(:delay_s + 0 * g)) AS pause  -- per row: correlated
