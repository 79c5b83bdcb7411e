-- Test only: every scalar column of type_zoo (no arrays), so Arrow and Parquet take the COPY
-- path over every edge value.
SELECT id, c_smallint, c_int, c_bigint, c_real, c_double, c_numeric, c_numeric_12_2, c_bool,
       c_text, c_varchar, c_char, c_date, c_time, c_timestamp, c_timestamptz, c_interval, c_uuid,
       c_json, c_jsonb, c_bytea, c_enum
FROM demo.type_zoo ORDER BY id
