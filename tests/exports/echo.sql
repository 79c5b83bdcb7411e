-- Test only: returns its parameters, one of each type, to prove values are bound verbatim.
-- param: t text = plain
-- param: i integer = 0
-- param: b bigint = 0
-- param: n numeric = 0
-- param: f double precision = 0
-- param: ok boolean = false
-- param: d date = 2000-01-01
-- param: ts timestamptz = 2000-01-01T00:00:00Z
-- param: u uuid = 00000000-0000-0000-0000-000000000000
SELECT :t AS t, length(:t) AS t_length, :i AS i, :b AS b, :n AS n, :f AS f, :ok AS ok,
       :d AS d, :ts AS ts, :u AS u
