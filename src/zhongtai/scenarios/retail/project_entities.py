"""Feature specs for the entities beyond the person: products, stores and a product in a store.

Kept apart from the person's specs so each can change without touching the other. The composite entity
`product_store` is keyed by (product_id, store_id); its stock view reads the daily inventory snapshots.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

PRODUCT_STORE = {
    "name": "product_store",
    "join_keys": ["product_id", "store_id"],
    "key_types": {"product_id": "int64", "store_id": "int64"},
    "description": "A product in one store: its stock status (composite key)",
}


def entity_documents(
    sql: Callable[[str], str], features: Callable[..., list[dict[str, str]]]
) -> dict[str, Any]:
    """The spec documents: `sql(name)` reads a SQL file of the scenario, `features(...)` lists features."""
    views = [
        {
            "name": "product_sales",
            "entity": "product",
            "timestamp": "ts",
            "ttl": "14d",
            "owner": "merchandising-team",
            "description": "Weekly snapshots of a product's sales across channels",
            "sql": sql("product_sales"),
            "features": features(
                ("units_7d", "int64", "units sold in the 7 days before the snapshot"),
                ("units_30d", "int64", "units sold in the 30 days before the snapshot"),
                ("revenue_30d", "float64", "line value sold in 30 days"),
                ("orders_30d", "int64", "orders holding the product in 30 days"),
            ),
        },
        {
            "name": "store_sales",
            "entity": "store",
            "timestamp": "ts",
            "ttl": "14d",
            "owner": "store-operations-team",
            "description": "Weekly snapshots of a store's orders",
            "sql": sql("store_sales"),
            "features": features(
                ("orders_7d", "int64", "orders in the 7 days before the snapshot"),
                ("orders_30d", "int64", "orders in the 30 days before the snapshot"),
                ("revenue_30d", "float64", "order value in 30 days"),
                ("avg_basket_30d", "float64", "average order value in 30 days"),
                ("member_share_30d", "float64", "share of orders placed by loyalty members in 30 days"),
            ),
        },
        {
            "name": "product_store_stock",
            "entity": "product_store",
            "timestamp": "ts",
            "ttl": "3d",
            "owner": "supply-chain-team",
            "description": "Stock status of a product in a store from the daily inventory snapshot",
            "sql": sql("product_store_stock"),
            "features": features(
                ("on_hand", "int64", "units on the shelf at closing"),
                ("sold_7d", "int64", "units sold in the 7 days up to the snapshot"),
                ("stockout_days_7d", "int64", "days of the last 7 that closed with an empty shelf"),
                ("days_of_cover", "float64", "days the shelf lasts at the last 7 days' pace"),
                ("in_stock", "bool", "anything on the shelf at closing"),
            ),
        },
    ]
    on_demand = {
        "name": "stock_request",
        "entity": "product_store",
        "owner": "supply-chain-team",
        "description": "Can this store serve the quantity asked for, and what is left after it?",
        "request": [{"name": "quantity", "type": "int64", "description": "units the customer asks for"}],
        "features": [
            {
                "name": "can_fulfil",
                "type": "bool",
                "description": "the shelf holds the quantity asked for",
                "expression": "coalesce(product_store_stock.on_hand, 0) >= quantity",
            },
            {
                "name": "cover_after_request",
                "type": "float64",
                "description": "days of cover left once the quantity is taken",
                "expression": "(product_store_stock.on_hand - quantity) / nullif(product_store_stock.sold_7d / 7.0, 0)",
            },
        ],
    }
    group = {
        "name": "stock_status",
        "entity": "product_store",
        "owner": "supply-chain-team",
        "description": "What a fulfilment or recommendation model asks for about a product in a store",
        "features": [
            "product_store_stock.*",
            "stock_request.can_fulfil",
            "stock_request.cover_after_request",
        ],
    }
    return {
        "catalog_features.yaml": {
            "feature_views": views,
            "on_demand_views": [on_demand],
            "feature_groups": [group],
        }
    }
