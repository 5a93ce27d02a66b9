-- Weekly snapshots of a store's (or e-commerce shop's) orders: count, revenue, basket size, member share.
WITH snapshots AS (
  SELECT unnest(generate_series(
    (SELECT min(ordered_at) FROM erp_orders)::DATE + 35,
    (SELECT max(ordered_at) FROM erp_orders)::DATE,
    INTERVAL 7 DAY))::TIMESTAMP AS ts
)
SELECT o.store_id, s.ts,
       count(*) FILTER (WHERE o.ordered_at > s.ts - INTERVAL 7 DAY) AS orders_7d,
       count(*) AS orders_30d,
       sum(o.total_amount)::DOUBLE AS revenue_30d,
       avg(o.total_amount)::DOUBLE AS avg_basket_30d,
       avg(CASE WHEN o.member_id IS NOT NULL THEN 1.0 ELSE 0.0 END)::DOUBLE AS member_share_30d
FROM snapshots s JOIN erp_orders o ON o.ordered_at <= s.ts AND o.ordered_at > s.ts - INTERVAL 30 DAY
WHERE o.status <> 'cancelled'
GROUP BY ALL
