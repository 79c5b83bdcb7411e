-- Test only: computes for :delay_s seconds before the first row (a slow sort or aggregate).
-- param: delay_s double precision = 5
SELECT g AS n FROM generate_series(1, 10) AS g, (SELECT pg_sleep(:delay_s)) AS pause
