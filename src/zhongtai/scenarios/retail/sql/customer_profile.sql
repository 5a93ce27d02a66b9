SELECT c.customer_id,
       c.registered_at AS ts,
       c.marketing_opt_in::INTEGER AS marketing_opt_in,
       (c.register_channel = 'store')::INTEGER AS registered_in_store,
       date_diff('year', c.birth_date, c.registered_at::DATE) AS age_at_registration
FROM crm_customers c
