-- Test only: any number of rows, cheaply: for large-result and chunking tests.
-- param: rows bigint = 10
SELECT g AS n, md5(g::text) AS label, g * 0.5 AS half
FROM generate_series(1::bigint, :rows) AS g
