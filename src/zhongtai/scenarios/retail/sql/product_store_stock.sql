-- Stock status of a product in a store from the daily inventory snapshots: what is on the shelf at closing,
-- how fast it sells and how many days that lasts (the composite entity product x store).
WITH daily AS (
  SELECT product_id, store_id, date::TIMESTAMP AS ts, on_hand, sold, stockout::BOOLEAN AS stockout
  FROM inventory_stock
)
SELECT product_id, store_id, ts,
       on_hand,
       sum(sold) OVER week AS sold_7d,
       count(*) FILTER (WHERE stockout) OVER week AS stockout_days_7d,
       on_hand / nullif(avg(sold) OVER week, 0) AS days_of_cover,
       on_hand > 0 AS in_stock
FROM daily
WINDOW week AS (PARTITION BY product_id, store_id ORDER BY ts RANGE BETWEEN INTERVAL 6 DAY PRECEDING AND CURRENT ROW)
