-- What the CRM knew of the person at each registration (a person who registered twice has two rows).
SELECT x.person_id,
       c.registered_at AS ts,
       c.marketing_opt_in::INTEGER AS marketing_opt_in,
       (c.register_channel = 'store')::INTEGER AS registered_in_store,
       date_diff('year', c.birth_date, c.registered_at::DATE) AS age_at_registration
FROM crm_customers c
JOIN person_crosswalk x ON x.dataset = 'crm_customers' AND x.key = CAST(c.customer_id AS VARCHAR)
