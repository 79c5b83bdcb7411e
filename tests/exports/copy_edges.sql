-- Test only: values that stress COPY's CSV as Arrow's reader takes it back. The first value
-- starts with a byte order mark (it starts the first block), lone carriage returns, quotes and
-- commas, years past 9999 and infinity next to BC (the converters' fallbacks), NULL between
-- uuid and bytea values.
SELECT t, d, ts, tz, u, b, n, f, flag
FROM (VALUES
    (1, E'\uFEFFstarts with a byte order mark', date '10000-01-01',
     timestamp 'infinity', timestamptz '10000-01-01 00:00:00+00',
     NULL::uuid, '\x'::bytea, 1.50::numeric(5,2), 1.5::float8, true),
    (2, E'\r', date '-infinity', timestamp '0044-03-15 12:00:00 BC', timestamptz 'infinity',
     'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'::uuid, NULL, NULL, 'NaN', false),
    (3, '"', date 'infinity', timestamp '2024-02-29 23:59:59.999999', timestamptz '-infinity',
     NULL, '\x0d0a2c22'::bytea, -999.99, '-Infinity', NULL),
    (4, '', date '0001-01-01 BC', timestamp '-infinity', timestamptz '0001-01-01 00:00:00+00 BC',
     '00000000-0000-0000-0000-000000000000', '\xff', 0, 0, true),
    (5, E'a\r\nb\rc\n', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
    (6, ',', date '2000-01-01', timestamp '2000-01-01', timestamptz '2000-01-01 00:00:00+00',
     'ffffffff-ffff-ffff-ffff-ffffffffffff', '\x00', 999.99, 5e-324, false),
    (7, E'\n', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
    (8, '"quoted", and ""doubled""', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
    (9, ' ', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
    (10, E'\uFEFF', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
    (11, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)
) AS v (id, t, d, ts, tz, u, b, n, f, flag)
ORDER BY id
