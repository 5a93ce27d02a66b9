-- A person's service tickets, through OneID's crosswalk (the contact details, card or login on each).
WITH tickets AS (
  SELECT x.person_id, t.created_at::TIMESTAMP AS created_at,
         (t.text ILIKE '%投诉%' OR t.text ILIKE '%complain%' OR t.text ILIKE '%差评%' OR t.text ILIKE '%失望%'
          OR t.text ILIKE '%disappointed%' OR t.text ILIKE '%terrible%') AS complaint
  FROM service_tickets t
  JOIN person_crosswalk x ON x.dataset = 'service_tickets' AND x.key = CAST(t.ticket_id AS VARCHAR)
),
snapshots AS (
  SELECT unnest(generate_series(
    (SELECT min(created_at) FROM service_tickets)::DATE + 35,
    (SELECT max(created_at) FROM service_tickets)::DATE,
    INTERVAL 7 DAY))::TIMESTAMP AS ts
)
SELECT t.person_id, s.ts,
       count(*) AS tickets_90d,
       count(*) FILTER (WHERE t.complaint) AS complaints_90d,
       count(*) FILTER (WHERE t.created_at > s.ts - INTERVAL 30 DAY) AS tickets_30d
FROM snapshots s JOIN tickets t ON t.created_at <= s.ts AND t.created_at > s.ts - INTERVAL 90 DAY
GROUP BY ALL
