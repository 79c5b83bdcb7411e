-- One column per PostgreSQL type, rows of edge values (NaN, infinities, BC dates, empty and
-- awkward strings, NULL array elements...): see sql/demo/schema.sql. The table's 2-D array
-- column (c_int_matrix) is left out: Arrow and Parquet have no list type for arrays whose
-- depth is only known row by row, so selecting it would abort those formats.
SELECT id,
       c_smallint,
       c_int,
       c_bigint,
       c_real,
       c_double,
       c_numeric,
       c_numeric_12_2,
       c_bool,
       c_text,
       c_varchar,
       c_char,
       c_date,
       c_time,
       c_timestamp,
       c_timestamptz,
       c_interval,
       c_uuid,
       c_json,
       c_jsonb,
       c_bytea,
       c_int_array,
       c_text_array,
       c_enum
FROM demo.type_zoo
ORDER BY id
