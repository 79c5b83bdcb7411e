-- All customers, optionally only those of one country (two-letter ISO code such as DE).
-- param: country text = any
SELECT c.id,
       c.name,
       c.email,
       c.country,
       c.city,
       c.tier,
       c.created_at
FROM demo.customers AS c
WHERE (:country = 'any' OR c.country = upper(:country))
ORDER BY c.id
