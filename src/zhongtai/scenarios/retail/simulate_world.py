"""The simulated customers of `zhongtai demo --simulate-days`: who is asked about, what truly happens to them,
and the promotion that changes both.

Before the promotion the world behaves as the demo's champion learnt it: a customer churns with the
probability the champion gave him when the simulation started (so live quality is the model's own). From
the promotion day on, the customers it reaches (the coupon hunters) place a burst of small orders — their
order features in the online store move far outside what the champion saw — and most of them leave once the
coupons run out: the champion reads the burst as loyalty, so its live AUC falls until a model trained on the
new behaviour serves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from zhongtai.features.keys import capability_lookup
from zhongtai.features.online.base import entity_key

if TYPE_CHECKING:
    from zhongtai.capabilities.arms import ArmedRuntime
    from zhongtai.features.online.base import OnlineStore
    from zhongtai.meta.store import MetadataStore

ORDERS_VIEW = "customer_orders"
BURST_ORDERS = 6  # orders the promotion adds in 30 days: far above what the retailer's customers place
HUNTER_CHURN = 0.8  # chance a coupon hunter places no order once the promotion ends


@dataclass
class Customer:
    """One simulated customer: the key callers send, the person the online store knows, the chance he
    churns, and whether the promotion has reached him."""

    customer_id: str
    person: str
    churn: float
    hunter: bool = False
    promoted: bool = False


def customers(
    store: MetadataStore,
    online: OnlineStore,
    runtime: ArmedRuntime,
    scored: list[dict[str, Any]],
    sample: int,
    hunters: float,
    rng: np.random.Generator,
) -> list[Customer]:
    """A sample of the scored customers the online store can resolve to a person and the model speaks for
    (an order in the last 180 days), with their churn chance (their score at the start) and a share of them marked as the promotion's coupon hunters."""
    inner = runtime.arms[0][1]
    found = capability_lookup(store, runtime.spec)
    order = rng.permutation(len(scored))
    chosen: list[Customer] = []
    for index in order:
        row = scored[int(index)]
        if row.get("score") is None:
            continue
        person = _person(online, inner, found[1] if found else None, str(row["customer_id"]))
        orders = None if person is None else online.read(person, [ORDERS_VIEW])[ORDERS_VIEW]
        if person is None or not orders or not orders.get("orders_180d"):
            continue  # outside the model's population: active customers, an order in the last 180 days
        chosen.append(Customer(str(row["customer_id"]), person, float(row["score"])))
        if len(chosen) == sample:
            break
    for customer in chosen:
        customer.hunter = bool(rng.random() < hunters)
    return chosen


def _person(online: OnlineStore, inner: Any, lookup: str | None, customer_id: str) -> str | None:
    """The online store's key of the customer's person (OneID's lookup), as the runtime reads it."""
    key = inner.entity_key({inner.input: customer_id})
    if lookup is None:
        return str(key)
    entity = online.read(key, [lookup])[lookup]
    return None if entity is None else entity_key([entity[k] for k in inner.join_keys])


def promote(online: OnlineStore, hunters: list[Customer]) -> int:
    """The promotion reaches the coupon hunters: a burst of small, recent orders in their online order
    features; returns how many were changed."""
    rows = []
    for customer in hunters:
        values = dict(online.read(customer.person, [ORDERS_VIEW])[ORDERS_VIEW] or {})
        for name in ("orders_30d", "orders_90d", "orders_180d", "orders_365d", "orders_total"):
            values[name] = int(values.get(name) or 0) + BURST_ORDERS
        for name in ("spend_30d", "spend_90d"):
            values[name] = float(values.get(name) or 0.0) + BURST_ORDERS * 19.9
        values["days_since_last_order"] = 0
        rows.append((customer.person, values))
        customer.promoted = True
    return online.write(ORDERS_VIEW, rows)


def churned(customer: Customer, rng: np.random.Generator) -> bool:
    """What truly happens to the customer: the promotion's hunters mostly leave, the others as scored."""
    chance = HUNTER_CHURN if customer.promoted else customer.churn
    return bool(rng.random() < chance)
