"""The recommender of the retail project: the model `recommender` over order lines and the `recommend`
capability, which answers only products on the shelf of the person's store.

Interactions are order lines found to their person through OneID; items are products (category, list price,
name for the reasons). At serving the person's recent products (`customer_recent_products`, read online)
join the history the model was trained with. Stock is the daily inventory snapshot (`product_store_stock.in_stock`): only the
tracked best sellers of the physical stores have a row, and a product without one is not recommended
(`unknown: exclude`), so an answer never holds a product the store cannot be shown to have. When the project
also holds the demand forecast's view `stock_risk`, its `stockout_risk_1d` (the forecast's probability that
the next day's demand empties the shelf) leaves out products likely to be gone tomorrow: measured by
`python bench/models.py --only recommend` over eight serving days (3,000 customers, 7,976 answers of 10), the
items shown whose shelf is empty the next day fall from 1,776 without the forecast to 105 with
drop_above 0.01, 48 with 0.001 and 0 with 0.0005, no answer shorter than k (the week's `stockout_risk_7d`,
on stock plus arriving, does not help: 1,904 demoting above 0.5).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

MODEL = "recommender"
CAPABILITY = "recommend"
RISK_VIEW = "stock_risk"
RISK_FEATURE = f"{RISK_VIEW}.stockout_risk_1d"
# Products whose risk of an empty shelf tomorrow is above DROP_ABOVE are left out, those above DEMOTE_ABOVE go
# after the safer ones (the bench above; the forecast's daily errors make one in two thousand the point
# where no recommended shelf ran empty).
DEMOTE_ABOVE = 0.0001
DROP_ABOVE = 0.0005


def recommend_documents(sql: Callable[[str], str], documents: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The spec documents; `documents` are the project's others (the risk view is used if one declares it)."""
    has_risk = any(
        view.get("name") == RISK_VIEW
        for document in documents.values()
        for view in document.get("feature_views", [])
    )
    model = {
        "name": MODEL,
        "task": "recommendation",
        "entity": "person",
        "owner": "ecommerce-team",
        "description": "What a person is likely to buy next among the products they have not bought yet",
        "label": {"sql": sql("recommender_interactions"), "timestamp": "ordered_at"},
        # The profile only: at the demo's size the order-count features let the ranker overfit (hit@10
        # 0.438 with both views, 0.448 with the profile, 2,000 customers, seed 7).
        "feature_views": ["customer_profile"],
        "validation": {"split": "time", "fraction": 0.2},
        "recommend": {
            "item": "product_id",
            "item_entity": "product",
            "weight": "quantity",
            "items": {
                "sql": "SELECT product_id, category, list_price, product_name FROM erp_products\n",
                "category": "category",
                "attributes": ["list_price"],
                "title": "product_name",
            },
            # 50 of each: as good as 100 here (hit@10 0.448 either way) at half the rows to rank per request
            "candidates": {"cooccurrence": 50, "als": 50, "popular": 50, "als_factors": 32},
            "ranker": {"num_boost_round": 100, "min_data_in_leaf": 100, "max_users": 3000},
            "recent_items": "customer_recent_products.recent_products",
        },
        "card": {
            "purpose": "Suggest products a person may want next, in stock at their store, with a reason each",
            "owner": "ecommerce-team",
            "not_for": ["pricing or credit decisions about a person"],
        },
    }
    stock: dict[str, Any] = {"in_stock": "product_store_stock.in_stock", "unknown": "exclude"}
    if has_risk:
        stock.update({"risk": RISK_FEATURE, "demote_above": DEMOTE_ABOVE, "drop_above": DROP_ABOVE})
    capability = {
        "name": CAPABILITY,
        "model": MODEL,
        "alias": "champion",
        "input": "customer_id",
        "input_dataset": "crm_customers",
        "owner": "ecommerce-team",
        "description": "Top products for a CRM customer at a store: on the shelf there, each with a reason",
        "fallback": {"decision": "popular"},
        "recommend": {"k": 10, "max_k": 50, "store_input": "store_id", "stock": stock},
    }
    recent = {
        "name": "customer_recent_products",
        "entity": "person",
        "timestamp": "ts",
        "ttl": "3650d",
        "owner": "ecommerce-team",
        "description": "A person's recent products as of their last order, read by the recommender at serving",
        "sql": sql("customer_recent_products"),
        "features": [
            {
                "name": "recent_products",
                "type": "string",
                "description": "the 30 most recent product ids, newest first, comma separated",
            }
        ],
    }
    return {"recommend.yaml": {"feature_views": [recent], "models": [model], "capabilities": [capability]}}
