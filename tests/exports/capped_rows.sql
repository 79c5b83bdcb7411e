-- Test only: at most 1,000 rows; asking for more aborts the export.
-- max_rows: 1_000
-- param: rows bigint = 10
SELECT g AS n, md5(g::text) AS label
FROM generate_series(1::bigint, :rows) AS g
