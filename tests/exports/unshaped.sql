-- Test only: an export that turns shaping off.
-- shaping: off
SELECT id, status FROM demo.orders ORDER BY id LIMIT 10
