-- Finished tickets with the category the agent filed them under (agents misfile some), the text as the lake
-- holds it (phones and e-mails as tokens) and the person who wrote it, through OneID's crosswalk.
SELECT x.person_id, t.created_at::TIMESTAMP AS ts, t.text, t.category AS label
FROM service_tickets t
JOIN person_crosswalk x ON x.dataset = 'service_tickets' AND x.key = CAST(t.ticket_id AS VARCHAR)
WHERE t.category IS NOT NULL AND t.status IN ('resolved', 'closed')
