-- Churn of the CRM's people: a person with a CRM record and an order in the 180 days before a monthly
-- cutoff is labelled 1 when they place no order (in any channel, found through OneID) in the 90 days after.
WITH orders AS (
  SELECT x.person_id, o.ordered_at
  FROM erp_orders o
  JOIN person_crosswalk x ON x.dataset = 'erp_orders' AND x.key = CAST(o.order_id AS VARCHAR)
  WHERE o.status <> 'cancelled'
    AND x.person_id IN (SELECT person_id FROM person_crosswalk WHERE dataset = 'crm_customers')
),
cutoffs AS (
  SELECT unnest(generate_series(
    date_trunc('month', (SELECT min(ordered_at) FROM erp_orders)) + INTERVAL 4 MONTH,
    (SELECT max(ordered_at) FROM erp_orders) - INTERVAL 90 DAY,
    INTERVAL 1 MONTH))::TIMESTAMP AS ts
)
SELECT o.person_id, c.ts,
       CASE WHEN count(*) FILTER (WHERE o.ordered_at > c.ts AND o.ordered_at <= c.ts + INTERVAL 90 DAY) = 0
            THEN 1 ELSE 0 END AS label
FROM cutoffs c JOIN orders o ON o.ordered_at <= c.ts + INTERVAL 90 DAY
GROUP BY ALL
HAVING count(*) FILTER (WHERE o.ordered_at <= c.ts AND o.ordered_at > c.ts - INTERVAL 180 DAY) > 0
