-- Every order, in no particular order: a plain table scan, the fastest case (for benchmarks).
SELECT id,
       customer_id,
       created_at,
       status,
       amount,
       quantity,
       express,
       tracking,
       attributes,
       note
FROM demo.orders
