-- Until OneID (its own issue) links records to persons, a customer's orders and tickets are found through
-- the loyalty member id and the mobile number written the same way: a deterministic bridge, not resolution.
WITH phones AS (
  SELECT right(regexp_replace(translate(mobile, '０１２３４５６７８９', '0123456789'), '[^0-9]', '', 'g'), 11) AS phone,
         min(customer_id) AS customer_id
  FROM crm_customers WHERE mobile IS NOT NULL GROUP BY 1
),
orders AS (
  SELECT coalesce(m.customer_id, p.customer_id) AS customer_id, o.ordered_at, o.total_amount,
         o.status IN ('refunded', 'returned') AS refunded
  FROM erp_orders o
  LEFT JOIN crm_loyalty_members m ON m.member_id = o.member_id
  LEFT JOIN phones p
    ON p.phone = right(regexp_replace(translate(o.buyer_phone, '０１２３４５６７８９', '0123456789'), '[^0-9]', '', 'g'), 11)
  WHERE coalesce(m.customer_id, p.customer_id) IS NOT NULL
),
snapshots AS (
  SELECT unnest(generate_series(
    (SELECT min(ordered_at) FROM erp_orders)::DATE + 35,
    (SELECT max(ordered_at) FROM erp_orders)::DATE,
    INTERVAL 7 DAY))::TIMESTAMP AS ts
),
windowed AS (
  SELECT o.customer_id, s.ts,
         count(*) FILTER (WHERE o.ordered_at > s.ts - INTERVAL 30 DAY) AS orders_30d,
         count(*) AS orders_90d,
         coalesce(sum(o.total_amount) FILTER (WHERE o.ordered_at > s.ts - INTERVAL 30 DAY), 0) AS spend_30d,
         sum(o.total_amount) AS spend_90d,
         count(*) FILTER (WHERE o.refunded) AS refunds_90d
  FROM snapshots s JOIN orders o ON o.ordered_at <= s.ts AND o.ordered_at > s.ts - INTERVAL 90 DAY
  GROUP BY ALL
),
grid AS (
  SELECT c.customer_id, s.ts FROM (SELECT DISTINCT customer_id FROM orders) c CROSS JOIN snapshots s
),
last_order AS (
  SELECT customer_id, ordered_at, count(*) OVER (PARTITION BY customer_id ORDER BY ordered_at) AS orders_total
  FROM orders
)
SELECT g.customer_id, g.ts,
       coalesce(w.orders_30d, 0) AS orders_30d, coalesce(w.orders_90d, 0) AS orders_90d,
       coalesce(w.spend_30d, 0)::DOUBLE AS spend_30d, coalesce(w.spend_90d, 0)::DOUBLE AS spend_90d,
       coalesce(w.refunds_90d, 0) AS refunds_90d,
       date_diff('day', l.ordered_at, g.ts) AS days_since_last_order,
       coalesce(l.orders_total, 0) AS orders_total
FROM grid g
LEFT JOIN windowed w USING (customer_id, ts)
ASOF LEFT JOIN last_order l ON l.customer_id = g.customer_id AND l.ordered_at <= g.ts
