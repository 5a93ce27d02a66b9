"""The retail scenario's real-time part: which streams feed the clickstream and the stock, and the window
feature views computed from them (kept apart from the batch views, which are keyed on other entities)."""

from __future__ import annotations

from typing import Any

STREAMS: dict[str, dict[str, Any]] = {
    "click_events": {"name": "retail.clicks", "event_id": "event_id", "timestamp": "ts"},
    "inventory_stock": {
        "name": "retail.stock",
        "event_id": ["date", "store_id", "product_id"],
        "timestamp": "date",
    },
}


def _agg(name: str, function: str, window: str, column: str | None = None, **where: Any) -> dict[str, Any]:
    agg: dict[str, Any] = {"name": name, "function": function, "window": window}
    if column:
        agg["column"] = column
    if where:
        agg["where"] = where
    return agg


def window_views() -> list[dict[str, Any]]:
    """Product interest from the clickstream and store stock health from the daily stock, as windows."""
    return [
        {
            "name": "product_activity",
            "entity": "product",
            "ttl": "30d",
            "owner": "ecommerce-team",
            "description": "How much a product is looked at, carted and bought right now (clickstream windows)",
            "windows": {
                "dataset": "click_events",
                "keys": {"product_id": "product_id"},
                "timestamp": "ts",
                "event_id": "event_id",
                "aggregations": [
                    _agg("views_1h", "count", "1h", event_type="view"),
                    _agg("views_1d", "count", "1d", event_type="view"),
                    _agg("carts_1d", "count", "1d", event_type="cart"),
                    _agg("buyers_7d", "distinct", "7d", "user_id", event_type="purchase"),
                ],
            },
        },
        {
            "name": "store_stock",
            "entity": "store",
            "ttl": "30d",
            "owner": "supply-team",
            "description": "Sales and stock-outs of the tracked best sellers per store (daily stock windows)",
            "windows": {
                "dataset": "inventory_stock",
                "keys": {"store_id": "store_id"},
                "timestamp": "date",
                "event_id": ["date", "store_id", "product_id"],
                "aggregations": [
                    _agg("units_sold_7d", "sum", "7d", "sold"),
                    _agg("stockouts_1d", "count", "1d", stockout=True),
                    _agg("avg_on_hand_7d", "avg", "7d", "on_hand"),
                ],
            },
        },
    ]
