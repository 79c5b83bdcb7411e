-- Test only: where. may use id and status, nothing else.
-- filterable: id, status
SELECT id, status, amount FROM demo.orders ORDER BY id
