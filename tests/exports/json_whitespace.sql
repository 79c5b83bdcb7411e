-- Test only: json keeps its input text, line breaks included; NDJSON must stay one line a row.
SELECT E'{"a":\n  [1,\r\n 2], "b": "x\\ny"}'::json AS j, E'[\n]'::json AS empty,
       ARRAY[E'{\n}'::json] AS js
