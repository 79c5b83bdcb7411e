-- Test only: raises division_by_zero when row :fail_at is produced (not before: the divisor
-- depends on the row, so the planner cannot fold it).
-- param: rows integer = 100000
-- param: fail_at integer = 50000
SELECT g AS n, 1 / (g - :fail_at) AS value, md5(g::text) AS label
FROM generate_series(1, :rows) AS g
