-- Until OneID (its own issue) links records to persons, a customer's orders and tickets are found through
-- the loyalty member id and the mobile number written the same way: a deterministic bridge, not resolution.
WITH phones AS (
  SELECT right(regexp_replace(translate(mobile, '０１２３４５６７８９', '0123456789'), '[^0-9]', '', 'g'), 11) AS phone,
         min(customer_id) AS customer_id
  FROM crm_customers WHERE mobile IS NOT NULL GROUP BY 1
),
orders AS (
  SELECT coalesce(m.customer_id, p.customer_id) AS customer_id, o.ordered_at
  FROM erp_orders o
  LEFT JOIN crm_loyalty_members m ON m.member_id = o.member_id
  LEFT JOIN phones p
    ON p.phone = right(regexp_replace(translate(o.buyer_phone, '０１２３４５６７８９', '0123456789'), '[^0-9]', '', 'g'), 11)
  WHERE coalesce(m.customer_id, p.customer_id) IS NOT NULL AND o.status <> 'cancelled'
),
cutoffs AS (
  SELECT unnest(generate_series(
    date_trunc('month', (SELECT min(ordered_at) FROM erp_orders)) + INTERVAL 4 MONTH,
    (SELECT max(ordered_at) FROM erp_orders) - INTERVAL 90 DAY,
    INTERVAL 1 MONTH))::TIMESTAMP AS ts
)
SELECT o.customer_id, c.ts,
       CASE WHEN count(*) FILTER (WHERE o.ordered_at > c.ts AND o.ordered_at <= c.ts + INTERVAL 90 DAY) = 0
            THEN 1 ELSE 0 END AS label
FROM cutoffs c JOIN orders o ON o.ordered_at <= c.ts + INTERVAL 90 DAY
GROUP BY ALL
HAVING count(*) FILTER (WHERE o.ordered_at <= c.ts AND o.ordered_at > c.ts - INTERVAL 180 DAY) > 0
