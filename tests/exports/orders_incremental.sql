-- Test only: the demo orders pulled incrementally by id.
-- watermark: id
SELECT id, created_at, status, amount FROM demo.orders
