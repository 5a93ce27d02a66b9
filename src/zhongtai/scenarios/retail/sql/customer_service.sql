-- Until OneID (its own issue) links records to persons, a customer's orders and tickets are found through
-- the loyalty member id and the mobile number written the same way: a deterministic bridge, not resolution.
WITH phones AS (
  SELECT right(regexp_replace(translate(mobile, '０１２３４５６７８９', '0123456789'), '[^0-9]', '', 'g'), 11) AS phone,
         min(customer_id) AS customer_id
  FROM crm_customers WHERE mobile IS NOT NULL GROUP BY 1
),
tickets AS (
  SELECT coalesce(m.customer_id, p.customer_id) AS customer_id, t.created_at::TIMESTAMP AS created_at,
         (t.text ILIKE '%投诉%' OR t.text ILIKE '%complain%' OR t.text ILIKE '%差评%' OR t.text ILIKE '%失望%'
          OR t.text ILIKE '%disappointed%' OR t.text ILIKE '%terrible%') AS complaint
  FROM service_tickets t
  LEFT JOIN crm_loyalty_members m ON m.member_id = t.member_id
  LEFT JOIN phones p
    ON p.phone = right(regexp_replace(translate(t.contact_phone, '０１２３４５６７８９', '0123456789'), '[^0-9]', '', 'g'), 11)
  WHERE coalesce(m.customer_id, p.customer_id) IS NOT NULL
),
snapshots AS (
  SELECT unnest(generate_series(
    (SELECT min(created_at) FROM service_tickets)::DATE + 35,
    (SELECT max(created_at) FROM service_tickets)::DATE,
    INTERVAL 7 DAY))::TIMESTAMP AS ts
)
SELECT t.customer_id, s.ts,
       count(*) AS tickets_90d,
       count(*) FILTER (WHERE t.complaint) AS complaints_90d,
       count(*) FILTER (WHERE t.created_at > s.ts - INTERVAL 30 DAY) AS tickets_30d
FROM snapshots s JOIN tickets t ON t.created_at <= s.ts AND t.created_at > s.ts - INTERVAL 90 DAY
GROUP BY ALL
