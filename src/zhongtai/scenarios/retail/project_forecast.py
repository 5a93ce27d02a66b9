"""The demand forecast of the retail project: the model, the view over its published outputs and the
`stock-risk` capability.

The model forecasts daily units per product in a store (the composite entity `product_store`) from the
inventory snapshots, with marketing's promotion calendar as exogenous input and stock-out days as censored
demand. Its champion's forecasts are published to the lake dataset `stock_forecasts` (declared by the model),
and the feature view `stock_risk` over it is what the recommender and rules read (`stock_risk.stockout_risk_7d`);
the capability returns it (feature group `stock_outlook`) beside the answer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

MODEL = "stock_forecast"
OUTPUTS = "stock_forecasts"
VIEW = "stock_risk"
GROUP = "stock_outlook"
CAPABILITY = "stock-risk"


def forecast_documents(
    sql: Callable[[str], str], features: Callable[..., list[dict[str, str]]]
) -> dict[str, Any]:
    """The spec documents: `sql(name)` reads a SQL file of the scenario, `features(...)` lists features."""
    model = {
        "name": MODEL,
        "task": "forecast",
        "entity": "product_store",
        "owner": "supply-chain-team",
        "description": "Daily demand of each tracked product in each store for the next 28 days, with the "
        "risk of running out within a week",
        "label": {"sql": sql("stock_forecast_labels"), "timestamp": "ts", "label": "units"},
        "forecast": {
            "horizon": 28,
            "season_length": 7,
            "frequency": "daily",
            "censored": "stockout",
            "exogenous": {
                "sql": "SELECT date::TIMESTAMP AS ts, promotion, promo_level, festival FROM promotion_calendar\n",
                "columns": ["promotion", "promo_level", "festival"],
            },
            "levels": [80],
            "stock_risk": {"stock": ["on_hand", "on_order"], "horizon": 7},
            "outputs": OUTPUTS,
        },
        "card": {
            "purpose": "Plan replenishment and warn of stock-outs a week ahead, per product and store",
            "owner": "supply-chain-team",
            "not_for": ["products launched in the last two weeks (too little history)"],
        },
    }
    view = {
        "name": VIEW,
        "entity": "product_store",
        "timestamp": "ts",
        "ttl": "7d",
        "owner": "supply-chain-team",
        "description": f"The published forecasts of model '{MODEL}': a week's demand and the stock-out risk",
        "sql": sql("stock_risk"),
        "features": features(
            ("forecast_7d", "float64", "expected units sold in the 7 days after the forecast date"),
            ("forecast_7d_lo_80", "float64", "lower end of the 80% interval of those units"),
            ("forecast_7d_hi_80", "float64", "upper end of the 80% interval of those units"),
            ("stock_position", "float64", "units on hand plus arriving at the forecast date"),
            ("stockout_risk_7d", "float64", "probability that the week's demand exceeds the stock position"),
            ("stockout_risk_1d", "float64", "probability that the next day's demand empties the shelf"),
            ("model_version", "int64", f"the version of '{MODEL}' that published the row"),
        ),
    }
    group = {
        "name": GROUP,
        "entity": "product_store",
        "owner": "supply-chain-team",
        "description": "The published forecast beside today's shelf: what rules and the stock-risk answer show",
        "features": [f"{VIEW}.*", "product_store_stock.on_hand", "product_store_stock.days_of_cover"],
    }
    capability = {
        "name": CAPABILITY,
        "model": MODEL,
        "alias": "champion",
        "input": "product_store",
        "owner": "supply-chain-team",
        "description": "A week's demand forecast of a product in a store, its interval and the stock-out risk",
        "decisions": [
            {"decision": "replenish_now", "min_score": 0.5},
            {"decision": "watch", "min_score": 0.2},
            {"decision": "ok", "min_score": 0.0},
        ],
        "fallback": {"decision": "unknown"},
        "explain_top": 0,
        "feature_groups": [GROUP],
    }
    return {
        "forecast.yaml": {
            "feature_views": [view],
            "feature_groups": [group],
            "models": [model],
            "capabilities": [capability],
        },
    }
