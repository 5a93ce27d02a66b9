-- The published forecasts of the stock forecast model's champion: the next 7 days' demand, its 80% interval
-- and the risk that it exceeds the stock on hand plus arriving, the risk that the next day empties the shelf,
-- as of the forecast date, and the version that published them.
SELECT product_id, store_id, forecast_date::TIMESTAMP AS ts,
       forecast_7d, forecast_7d_lo_80, forecast_7d_hi_80, stock_position, stockout_risk_7d,
       stockout_risk_1d, model_version
FROM stock_forecasts
