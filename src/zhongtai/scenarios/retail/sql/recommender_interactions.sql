-- What each person bought, whichever channel sold it: the lines of orders that were not cancelled, refunded
-- or returned, the person found through OneID's crosswalk (the login, card, phone or name on the order).
SELECT x.person_id, l.product_id, o.ordered_at, l.quantity
FROM erp_order_lines l
JOIN erp_orders o USING (order_id)
JOIN person_crosswalk x ON x.dataset = 'erp_orders' AND x.key = CAST(o.order_id AS VARCHAR)
WHERE o.status NOT IN ('cancelled', 'refunded', 'returned')
