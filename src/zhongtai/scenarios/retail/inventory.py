"""Inventory: the end-of-day stock of the best-selling products in every physical store, for the last year.

Demand follows the store calendar (weekends, winter, festivals) and the category's season; replenishment
is a reorder-point policy with a few days' lead time that plans for promotions but under-estimates them,
so festivals empty shelves and some deliveries arrive late or short. Walk-in sales without a customer
record are included, so `sold` is more than the member orders in the ERP.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from zhongtai.scenarios.retail.calendar import SPRING_FESTIVAL, RetailCalendar
from zhongtai.scenarios.retail.catalog import Catalog, category_season

STOCK_DAYS = 365
TRACKED_PRODUCTS = 100
WARM_UP_DAYS = 28  # simulated but not written, so the first written day has a realistic shelf
PLAN_ACCURACY = 0.6  # replenishment plans for 60% of the lift a festival actually brings
PLANNED_DAYS = 120  # days after today the promotion calendar already holds


@dataclass
class StockLedger:
    """Per day (rows) and store x product pair (columns)."""

    days: np.ndarray  # window day indexes
    store: np.ndarray  # store index of each pair
    product: np.ndarray  # product index of each pair
    on_hand: np.ndarray
    sold: np.ndarray
    received: np.ndarray
    on_order: np.ndarray  # ordered, not yet received, at closing

    @property
    def rows(self) -> int:
        return self.on_hand.size


def tracked_products(catalog: Catalog, first_day: int) -> np.ndarray:
    """The best sellers launched before the stock window: the products replenishment tracks daily."""
    eligible = np.flatnonzero(catalog.launched_day < first_day - WARM_UP_DAYS)
    best = eligible[np.argsort(-catalog.popularity[eligible], kind="stable")][:TRACKED_PRODUCTS]
    return np.sort(best)


def simulate_stock(rng: np.random.Generator, catalog: Catalog, calendar: RetailCalendar) -> StockLedger:
    """Run the shelves day by day for the stock window (plus a warm-up)."""
    first_day = max(calendar.n_days - STOCK_DAYS, WARM_UP_DAYS)
    products = tracked_products(catalog, first_day)
    stores = catalog.physical
    store = np.repeat(stores, len(products))
    product = np.tile(products, len(stores))
    base = 3.0 * catalog.popularity[product] ** 0.7 * catalog.store_size[store]
    season = category_season(calendar)[:, catalog.category[product]]
    lead = rng.integers(2, 5, size=len(stores))[np.repeat(np.arange(len(stores)), len(products))]
    days = np.arange(first_day - WARM_UP_DAYS, calendar.n_days)
    shelf = _Shelf(base, lead, rng)
    on_hand, sold, received, on_order = (np.zeros((len(days), len(store)), dtype=np.int64) for _ in range(4))
    for row, day in enumerate(days.tolist()):
        expected = base * calendar.store[day] * season[day]
        demand = rng.poisson(expected * rng.lognormal(0, 0.15, size=len(base)))
        plan = _planned_multiplier(calendar, season, day)
        received[row], sold[row], on_hand[row] = shelf.day(row, demand, plan)
        on_order[row] = shelf.pipeline.sum(axis=0)
    keep = slice(WARM_UP_DAYS, None)
    return StockLedger(days[keep], store, product, on_hand[keep], sold[keep], received[keep], on_order[keep])


def _planned_multiplier(calendar: RetailCalendar, season: np.ndarray, day: int) -> np.ndarray:
    """What the planner expects over the coming lead time and week, with festivals under-estimated."""
    horizon = slice(day, min(day + 10, calendar.n_days))
    expected = calendar.store[horizon].mean() * season[horizon].mean(axis=0)
    return 1 + PLAN_ACCURACY * (expected - 1)


class _Shelf:
    """Reorder-point replenishment: order up to a target when stock plus pipeline falls below a floor."""

    def __init__(self, base: np.ndarray, lead: np.ndarray, rng: np.random.Generator) -> None:
        self.base, self.lead, self.rng = base, lead, rng
        self.stock = np.ceil(base * (lead + 7)).astype(np.int64)
        self.pipeline = np.zeros((12, len(base)), dtype=np.int64)  # arrivals by day offset (ring buffer)

    def day(
        self, row: int, demand: np.ndarray, plan: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        slot = row % len(self.pipeline)
        arriving = self.pipeline[slot].copy()
        self.pipeline[slot] = 0
        self.stock += arriving
        sold = np.minimum(self.stock, demand)
        self.stock -= sold
        position = self.stock + self.pipeline.sum(axis=0)
        floor = self.base * plan * (self.lead + 2)
        target = np.ceil(self.base * plan * (self.lead + 7)).astype(np.int64) + 2
        ordering = position <= floor
        quantity = np.where(ordering, target - position, 0)
        # Suppliers: one delivery in ten is a day late, one in thirty comes half full.
        quantity = np.where(self.rng.random(len(quantity)) < 1 / 30, quantity // 2, quantity)
        delay = self.lead + (self.rng.random(len(quantity)) < 0.1)
        arrival = (row + delay) % len(self.pipeline)
        np.add.at(self.pipeline, (arrival[ordering], np.flatnonzero(ordering)), quantity[ordering])
        return arriving, sold, self.stock.copy()


def write_stock(
    ledger: StockLedger, catalog: Catalog, calendar: RetailCalendar, folder: Path
) -> dict[str, int]:
    """Write stock-YYYY-MM.csv files (date, store_id, product_id, on_hand, sold, replenished, stockout,
    on_order)."""
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("stock-*.csv"):
        stale.unlink()
    dates = calendar.days[ledger.days]
    months = dates.astype("datetime64[M]")
    pairs = len(ledger.store)
    written = {}
    for month in np.unique(months):
        rows = np.flatnonzero(months == month)
        table = pa.table(
            {
                "date": pa.array(np.repeat(dates[rows], pairs)),
                "store_id": np.tile(catalog.store_id[ledger.store], len(rows)),
                "product_id": np.tile(catalog.product_id[ledger.product], len(rows)),
                "on_hand": ledger.on_hand[rows].ravel(),
                "sold": ledger.sold[rows].ravel(),
                "replenished": ledger.received[rows].ravel(),
                "stockout": (ledger.on_hand[rows].ravel() == 0).astype(
                    np.int8
                ),  # 0/1: every CSV reader agrees
                "on_order": ledger.on_order[rows].ravel(),
            }
        )
        name = f"stock-{month}.csv"
        pacsv.write_csv(table, folder / name, pacsv.WriteOptions(quoting_style="none"))
        written[name] = table.num_rows
    return written


def write_promotions(calendar: RetailCalendar, first_day: int, folder: Path) -> int:
    """Write promotions.csv: one row per day from the stock window's first day to PLANNED_DAYS after today
    (date, promotion, promo_level: 1 lead-in, 2 peak day; festival: spring_festival_eve, spring_festival)."""
    start = calendar.start + timedelta(days=first_day)
    days = np.arange(np.datetime64(start, "D"), np.datetime64(calendar.today, "D") + PLANNED_DAYS + 1)
    promotion = np.full(len(days), "", dtype=object)
    level = np.zeros(len(days), dtype=np.int8)
    for promo in calendar.promotions:
        lead = (days >= np.datetime64(promo.start)) & (days <= np.datetime64(promo.end))
        peak = days == np.datetime64(promo.peak)
        promotion[lead | peak] = promo.name
        level[lead] = np.maximum(level[lead], 1)
        level[peak] = 2
    festival = np.full(len(days), "", dtype=object)
    for new_year in SPRING_FESTIVAL.values():
        first = np.datetime64(new_year)
        festival[(days >= first - 14) & (days < first)] = "spring_festival_eve"
        festival[(days >= first) & (days < first + 7)] = "spring_festival"
    table = pa.table(
        {
            "date": pa.array(days),
            "promotion": pa.array(promotion.tolist(), pa.string()),
            "promo_level": level,
            "festival": pa.array(festival.tolist(), pa.string()),
        }
    )
    folder.mkdir(parents=True, exist_ok=True)
    pacsv.write_csv(table, folder / "promotions.csv", pacsv.WriteOptions(quoting_style="needed"))
    return table.num_rows
