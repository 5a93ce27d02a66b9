-- A person's orders, whichever system placed them: OneID's crosswalk says whose each order is (the login,
-- loyalty card, phone or name it carries, resolved), so the CRM id is not needed to find them.
WITH orders AS (
  SELECT x.person_id, o.ordered_at, o.total_amount, o.status IN ('refunded', 'returned') AS refunded
  FROM erp_orders o
  JOIN person_crosswalk x ON x.dataset = 'erp_orders' AND x.key = CAST(o.order_id AS VARCHAR)
),
snapshots AS (
  SELECT unnest(generate_series(
    (SELECT min(ordered_at) FROM erp_orders)::DATE + 35,
    (SELECT max(ordered_at) FROM erp_orders)::DATE,
    INTERVAL 7 DAY))::TIMESTAMP AS ts
),
windowed AS (
  SELECT o.person_id, s.ts,
         count(*) FILTER (WHERE o.ordered_at > s.ts - INTERVAL 30 DAY) AS orders_30d,
         count(*) AS orders_90d,
         coalesce(sum(o.total_amount) FILTER (WHERE o.ordered_at > s.ts - INTERVAL 30 DAY), 0) AS spend_30d,
         sum(o.total_amount) AS spend_90d,
         count(*) FILTER (WHERE o.refunded) AS refunds_90d
  FROM snapshots s JOIN orders o ON o.ordered_at <= s.ts AND o.ordered_at > s.ts - INTERVAL 90 DAY
  GROUP BY ALL
),
grid AS (  -- from a person's first order on: before it there is nothing to describe
  SELECT p.person_id, s.ts, p.first_order, s.ts - INTERVAL 180 DAY AS ts_180d, s.ts - INTERVAL 365 DAY AS ts_365d
  FROM (SELECT person_id, min(ordered_at) AS first_order FROM orders GROUP BY 1) p
  JOIN snapshots s ON s.ts >= p.first_order
),
-- Each order with the count of the person's orders up to it (ties included): an as-of lookup of this
-- running count at two moments gives the orders between them without joining every order to every
-- snapshot of a year.
last_order AS (
  SELECT person_id, ordered_at, count(*) OVER (PARTITION BY person_id ORDER BY ordered_at) AS orders_total
  FROM orders
)
SELECT g.person_id, g.ts,
       coalesce(w.orders_30d, 0) AS orders_30d, coalesce(w.orders_90d, 0) AS orders_90d,
       coalesce(w.spend_30d, 0)::DOUBLE AS spend_30d, coalesce(w.spend_90d, 0)::DOUBLE AS spend_90d,
       coalesce(w.refunds_90d, 0) AS refunds_90d,
       date_diff('day', l.ordered_at, g.ts) AS days_since_last_order,
       coalesce(l.orders_total, 0) AS orders_total,
       coalesce(l.orders_total, 0) - coalesce(l180.orders_total, 0) AS orders_180d,
       coalesce(l.orders_total, 0) - coalesce(l365.orders_total, 0) AS orders_365d,
       date_diff('day', g.first_order, g.ts) AS days_since_first_order
FROM grid g
LEFT JOIN windowed w USING (person_id, ts)
ASOF LEFT JOIN last_order l ON l.person_id = g.person_id AND l.ordered_at <= g.ts
ASOF LEFT JOIN last_order l180 ON l180.person_id = g.person_id AND l180.ordered_at <= g.ts_180d
ASOF LEFT JOIN last_order l365 ON l365.person_id = g.person_id AND l365.ordered_at <= g.ts_365d
