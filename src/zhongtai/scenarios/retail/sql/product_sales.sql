-- Weekly snapshots of a product's sales across every channel: units, revenue and orders over 7 and 30 days.
WITH lines AS (
  SELECT l.product_id, o.ordered_at, l.quantity, l.line_amount, l.order_id
  FROM erp_order_lines l JOIN erp_orders o USING (order_id)
  WHERE o.status NOT IN ('cancelled', 'refunded', 'returned')
),
snapshots AS (
  SELECT unnest(generate_series(
    (SELECT min(ordered_at) FROM erp_orders)::DATE + 35,
    (SELECT max(ordered_at) FROM erp_orders)::DATE,
    INTERVAL 7 DAY))::TIMESTAMP AS ts
)
SELECT l.product_id, s.ts,
       coalesce(sum(l.quantity) FILTER (WHERE l.ordered_at > s.ts - INTERVAL 7 DAY), 0) AS units_7d,
       sum(l.quantity) AS units_30d,
       sum(l.line_amount)::DOUBLE AS revenue_30d,
       count(DISTINCT l.order_id) AS orders_30d
FROM snapshots s JOIN lines l ON l.ordered_at <= s.ts AND l.ordered_at > s.ts - INTERVAL 30 DAY
GROUP BY ALL
