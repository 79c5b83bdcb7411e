-- Test only: at most 64 kB of output in any format; more rows abort the export.
-- max_bytes: 64kB
-- param: rows bigint = 10
SELECT g AS n, md5(g::text) AS label
FROM generate_series(1::bigint, :rows) AS g
