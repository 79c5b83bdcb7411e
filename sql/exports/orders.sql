-- Orders placed in a period [since, until), with their customer's name and country;
-- optionally only one status (pending, paid, shipped, cancelled or refunded).
-- Dates are midnights in the session time zone (EXPORTER_TIMEZONE, UTC by default).
-- param: since date = 2024-01-01
-- param: until date = 2100-01-01
-- param: status text = any
SELECT o.id,
       o.created_at,
       o.status,
       o.amount,
       o.quantity,
       o.express,
       o.tracking,
       o.attributes,
       o.note,
       o.customer_id,
       c.name    AS customer_name,
       c.country AS customer_country
FROM demo.orders AS o
JOIN demo.customers AS c ON c.id = o.customer_id
WHERE o.created_at >= :since
  AND o.created_at < :until
  AND (:status = 'any' OR o.status = :status)
ORDER BY o.id
