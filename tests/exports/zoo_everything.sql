-- Test only: type_zoo plus its 2-D array column, which only NDJSON and CSV can carry.
SELECT id, c_smallint, c_int, c_bigint, c_real, c_double, c_numeric, c_numeric_12_2, c_bool,
       c_text, c_varchar, c_char, c_date, c_time, c_timestamp, c_timestamptz, c_interval, c_uuid,
       c_json, c_jsonb, c_bytea, c_int_array, c_text_array, c_int_matrix, c_enum
FROM demo.type_zoo ORDER BY id
