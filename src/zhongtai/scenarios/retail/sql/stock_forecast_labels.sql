-- Daily units sold of each tracked product in each store. A day that closed with an empty shelf sold what the
-- shelf held, not what customers asked for: `stockout` marks it censored. The stock position at the forecast
-- date is what is on the shelf plus what is ordered and arriving.
SELECT product_id, store_id, date::TIMESTAMP AS ts, sold AS units, stockout::BOOLEAN AS stockout,
       on_hand, on_order
FROM inventory_stock
