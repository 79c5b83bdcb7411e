-- Test only: a one-column result, where COPY CSV quotes a lone \. value.
SELECT c_text FROM demo.type_zoo ORDER BY id
