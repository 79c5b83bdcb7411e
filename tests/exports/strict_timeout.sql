-- Test only: its own statement_timeout is shorter than one 50-row round trip.
-- statement_timeout: 300ms
-- param: rows integer = 1000
SELECT g AS n FROM generate_series(1, :rows) AS g, LATERAL (SELECT pg_sleep(0.01 + 0 * g)) AS pause  -- per row: correlated
