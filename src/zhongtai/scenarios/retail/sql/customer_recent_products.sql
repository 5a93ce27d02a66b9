-- A person's 30 most recent products, newest first, comma separated, as of their last order: one row per
-- person (the latest state, for serving: the recommender adds them to the history it was trained with).
WITH lines AS (
  SELECT x.person_id, o.ordered_at, l.product_id
  FROM erp_order_lines l
  JOIN erp_orders o USING (order_id)
  JOIN person_crosswalk x ON x.dataset = 'erp_orders' AND x.key = CAST(o.order_id AS VARCHAR)
  WHERE o.status NOT IN ('cancelled', 'refunded', 'returned')
),
latest AS (
  SELECT person_id, product_id, max(ordered_at) AS last_at FROM lines GROUP BY ALL
)
SELECT person_id, max(last_at) AS ts,
       array_to_string(list(CAST(product_id AS VARCHAR) ORDER BY last_at DESC, product_id)[1:30], ',')
         AS recent_products
FROM latest
GROUP BY person_id
