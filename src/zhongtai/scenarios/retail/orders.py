"""What people bought and when: order timing from each person's rate, the calendar and their fading activity;
lines drawn from their category tastes; promotion discounts; and what became of each order.

These are facts of the simulation; `erp.py` turns them into the rows an order system would hold.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from zhongtai.scenarios.retail.behaviour import Behaviour
from zhongtai.scenarios.retail.calendar import DAY_SECONDS, RetailCalendar, seconds_of_day
from zhongtai.scenarios.retail.catalog import CATEGORIES, Catalog, category_season

STATUSES = ("completed", "cancelled", "returned", "refunded", "paid", "shipped")
COMPLETED, CANCELLED, RETURNED, REFUNDED, PAID, SHIPPED = range(len(STATUSES))
BULK_CATEGORIES = ("food", "baby", "pets")  # bought several at a time


@dataclass
class Orders:
    """Orders sorted by time (position = order number - 1) and their lines, sorted by order."""

    person: np.ndarray
    day: np.ndarray
    seconds: np.ndarray  # ordered at, seconds since the epoch (local time)
    online: np.ndarray
    store: np.ndarray  # store index (online orders: the e-commerce shop)
    status: np.ndarray  # index into STATUSES
    updated: np.ndarray  # seconds of the last status change
    line_order: np.ndarray  # order position of each line
    line_no: np.ndarray
    product: np.ndarray  # product index
    quantity: np.ndarray
    price_cents: np.ndarray
    discount_cents: np.ndarray

    @property
    def count(self) -> int:
        return len(self.person)

    def line_amount_cents(self) -> np.ndarray:
        return self.quantity * self.price_cents - self.discount_cents

    def totals(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per order: (amount paid in cents, discount in cents, item count)."""
        size = self.count
        paid = np.bincount(self.line_order, weights=self.line_amount_cents(), minlength=size).astype(np.int64)
        discount = np.bincount(self.line_order, weights=self.discount_cents, minlength=size).astype(np.int64)
        items = np.bincount(self.line_order, weights=self.quantity, minlength=size).astype(np.int64)
        return paid, discount, items


def simulate_orders(
    rng: np.random.Generator, behaviour: Behaviour, catalog: Catalog, calendar: RetailCalendar
) -> Orders:
    """Every order of every person in the window."""
    person, day, online = _order_days(rng, behaviour, calendar)
    seconds = calendar.start_seconds + day * DAY_SECONDS + seconds_of_day(rng, online)
    order = np.lexsort((person, seconds))
    person, day, online, seconds = person[order], day[order], online[order], seconds[order]
    store = _stores(rng, person, online, behaviour, catalog)
    line_order, line_no, product = _lines(rng, person, day, behaviour, catalog, calendar)
    quantity = _quantities(rng, catalog.category[product])
    price = catalog.price_cents[product]
    discount = _discounts(rng, quantity * price, calendar.promo_level[day[line_order]])
    status, updated = _fates(rng, behaviour.propensity[person], online, seconds, calendar)
    return Orders(
        person,
        day,
        seconds,
        online,
        store,
        status,
        updated,
        line_order,
        line_no,
        product,
        quantity,
        price,
        discount,
    )


def _order_days(
    rng: np.random.Generator, behaviour: Behaviour, calendar: RetailCalendar
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Order days by thinning: draw candidates at the peak rate, keep each with the day's true intensity."""
    start = behaviour.start_day
    end = np.minimum(behaviour.churn_day, calendar.n_days)
    duration = np.maximum(end - start, 0)
    peak = float(max(calendar.online.max(), calendar.store.max()))
    counts = rng.poisson(behaviour.order_rate * peak * duration)
    person = np.repeat(np.arange(len(start)), counts)
    day = start[person] + (rng.random(len(person)) * duration[person]).astype(np.int64)
    online = rng.random(len(person)) < behaviour.online_share[person]
    intensity = np.where(online, calendar.online[day], calendar.store[day]) * behaviour.activity(person, day)
    keep = rng.random(len(person)) * peak < intensity
    # A new customer is a customer because of a first purchase on the day they arrived.
    first = np.flatnonzero((start > 0) & (duration > 0))
    first_online = rng.random(len(first)) < behaviour.online_share[first]
    return (
        np.concatenate([person[keep], first]),
        np.concatenate([day[keep], start[first]]),
        np.concatenate([online[keep], first_online]),
    )


def _stores(
    rng: np.random.Generator, person: np.ndarray, online: np.ndarray, behaviour: Behaviour, catalog: Catalog
) -> np.ndarray:
    """Online orders go to the person's shop; store visits mostly to their home store."""
    shops = np.array([catalog.online_store[c] for c in ("app", "tmall", "mini_program")])
    physical = catalog.physical
    elsewhere = physical[rng.integers(0, len(physical), size=len(person))]
    in_store = np.where(rng.random(len(person)) < 0.85, behaviour.home_store[person], elsewhere)
    return np.where(online, shops[behaviour.online_channel[person]], in_store)


def _lines(
    rng: np.random.Generator,
    person: np.ndarray,
    day: np.ndarray,
    behaviour: Behaviour,
    catalog: Catalog,
    calendar: RetailCalendar,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """1-4 lines per order; category from the buyer's taste and the season, product by popularity."""
    counts = rng.choice([1, 2, 3, 4], size=len(person), p=[0.45, 0.3, 0.15, 0.1])
    line_order = np.repeat(np.arange(len(person)), counts)
    line_no = np.arange(len(line_order)) - np.repeat(np.cumsum(counts) - counts, counts) + 1
    line_day = day[line_order]
    weights = behaviour.affinity[person[line_order]] * category_season(calendar).astype(np.float32)[line_day]
    cumulative = np.cumsum(weights, axis=1)
    draw = rng.random(len(line_order)).astype(np.float32) * cumulative[:, -1]
    category = (draw[:, None] > cumulative).sum(axis=1)
    product = pick_products(rng, catalog, category)
    # Products launched later than the order fall back to the category's best seller.
    late = catalog.launched_day[product] > line_day
    product[late] = best_sellers(catalog)[category[late]]
    return line_order, line_no, product


def pick_products(rng: np.random.Generator, catalog: Catalog, category: np.ndarray) -> np.ndarray:
    """A product of each given category, by popularity."""
    shares = np.zeros(len(catalog.category))
    for code in range(len(CATEGORIES)):
        members = catalog.category == code
        shares[members] = np.cumsum(catalog.popularity[members]) / catalog.popularity[members].sum()
    # Categories are contiguous in the catalogue, so category + share is one sorted key.
    key = catalog.category + shares
    picked = np.searchsorted(key, category + rng.random(len(category)) * 0.999999, side="right")
    return np.minimum(picked, len(key) - 1)


def best_sellers(catalog: Catalog) -> np.ndarray:
    """The most popular product of each category launched before the window."""
    best = np.zeros(len(CATEGORIES), dtype=np.int64)
    for code in range(len(CATEGORIES)):
        members = np.flatnonzero((catalog.category == code) & (catalog.launched_day < 0))
        best[code] = members[np.argmax(catalog.popularity[members])]
    return best


def _quantities(rng: np.random.Generator, category: np.ndarray) -> np.ndarray:
    bulk = np.isin(category, [k for k, c in enumerate(CATEGORIES) if c.code in BULK_CATEGORIES])
    return 1 + rng.poisson(np.where(bulk, 0.8, 0.1))


def _discounts(rng: np.random.Generator, gross: np.ndarray, promo_level: np.ndarray) -> np.ndarray:
    """Festival discounts (10% lead-in, 20% peak day) and occasional coupons, in cents."""
    rate = np.select([promo_level == 2, promo_level == 1], [0.2, 0.1], 0.0)
    coupon = rng.random(len(gross)) < 0.08
    rate = rate + np.where(coupon, rng.choice([0.05, 0.1, 0.15], size=len(gross)), 0.0)
    return np.round(gross * rate).astype(np.int64)


def _fates(
    rng: np.random.Generator,
    propensity: np.ndarray,
    online: np.ndarray,
    seconds: np.ndarray,
    calendar: RetailCalendar,
) -> tuple[np.ndarray, np.ndarray]:
    """Status and last update of each order; unhappy customers cancel and return more."""
    count = len(seconds)
    unhappy = 1 + np.maximum(propensity, 0)
    draw = rng.random(count) / unhappy
    cancel, ret, refund = (
        np.where(online, 0.04, 0.0),
        np.where(online, 0.05, 0.02),
        np.where(online, 0.03, 0.005),
    )
    status = np.select(
        [draw < cancel, draw < cancel + ret, draw < cancel + ret + refund],
        [CANCELLED, RETURNED, REFUNDED],
        COMPLETED,
    )
    lag_days = np.select(
        [status == CANCELLED, status == RETURNED, status == REFUNDED, online],
        [
            rng.uniform(0.02, 0.5, count),
            rng.uniform(8, 20, count),
            rng.uniform(3, 10, count),
            rng.uniform(2, 6, count),
        ],
        rng.uniform(0, 0.01, count),
    )
    updated = seconds + (lag_days * DAY_SECONDS).astype(np.int64)
    now = calendar.start_seconds + calendar.n_days * DAY_SECONDS - 1
    # Orders whose story has not finished by `today` are still on their way.
    pending = updated > now
    in_transit = (now - seconds) > DAY_SECONDS
    waiting = np.where(in_transit, SHIPPED, PAID)
    status = np.where(pending, np.where(online, waiting, COMPLETED), status)
    updated = np.where(pending, seconds + np.minimum(now - seconds, DAY_SECONDS // 2), updated)
    return status, updated
