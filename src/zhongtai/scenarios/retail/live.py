"""`zhongtai demo --live`: the retail clickstream and stock replayed as live streams into the running demo.

The last week of daily stock is published first, its dates moved so the newest day is today (same
composite ids every run: a second replay counts nothing twice). Then the last day of clicks is published at
`rate` events/s, each with its time moved so the day ends now and a fresh event id (they are new events to
the platform, so the lake grows by them). The stream consumer turns both into window features within a
second and lands them in the lake; this module only publishes. Clicks of the past day arrive faster than
they happened (at `rate`), so the window values show a busy day compressed into minutes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from zhongtai.config import Settings
from zhongtai.connect.streams import open_bus
from zhongtai.errors import ZhongtaiError
from zhongtai.lake import engine
from zhongtai.lake.storage import LakeStorage
from zhongtai.meta.store import MetadataStore
from zhongtai.scenarios.retail.windows import STREAMS

TICK_S = 0.05
CLICK_HOURS = 24
STOCK_DAYS = 7


@dataclass
class LiveReport:
    stock: int = 0
    clicks: int = 0
    last_product: int | None = None  # of the newest click published: one to look at
    finished: bool = False


def replay(
    settings: Settings,
    stop: threading.Event,
    rate: float = 200.0,
    on_progress: Callable[[LiveReport], None] | None = None,
) -> LiveReport:
    """Publish the stock, then the clicks at `rate` events/s, until done or `stop` is set."""
    report = LiveReport()
    stock, clicks = _history(settings)
    bus = open_bus(settings.bus_url)
    try:
        for start in range(0, len(stock), 1000):
            bus.publish(STREAMS["inventory_stock"]["name"], stock[start : start + 1000])
            report.stock += len(stock[start : start + 1000])
        per_tick = max(1, round(rate * TICK_S))
        started = time.monotonic()
        for start in range(0, len(clicks), per_tick):
            if stop.is_set():
                break
            bus.publish(STREAMS["click_events"]["name"], clicks[start : start + per_tick])
            report.clicks += len(clicks[start : start + per_tick])
            report.last_product = clicks[start : start + per_tick][-1]["product_id"]
            if on_progress is not None:
                on_progress(report)
            ahead = report.clicks / rate - (time.monotonic() - started)
            if ahead > 0:
                stop.wait(ahead)
        report.finished = not stop.is_set()
    finally:
        bus.close()
    return report


def _history(settings: Settings) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The last STOCK_DAYS of stock with dates moved to end today; the last CLICK_HOURS of clicks, in order."""
    store = MetadataStore(settings.metadata_url)
    lake = LakeStorage(settings.lake_url)
    con = engine.connect(lake)
    try:
        stock_files = _files(store, "inventory_stock")
        click_files = _files(store, "click_events")
        stock = (
            con.sql(
                f"SELECT * FROM {engine.scan(lake, stock_files)} "
                f"WHERE date > (SELECT max(date) FROM {engine.scan(lake, stock_files)}) - {STOCK_DAYS} ORDER BY date"
            )
            .to_arrow_table()
            .to_pylist()
        )
        clicks = (
            con.sql(
                f"SELECT * FROM {engine.scan(lake, click_files)} WHERE ts > (SELECT max(ts) "
                f"FROM {engine.scan(lake, click_files)}) - INTERVAL {CLICK_HOURS} HOUR ORDER BY ts"
            )
            .to_arrow_table()
            .to_pylist()
        )
    finally:
        con.close()
        store.close()
    if stock:
        days = (date.today() - max(row["date"] for row in stock)).days
        for row in stock:
            row["date"] = row["date"] + timedelta(days=days)
    if clicks:
        shift = datetime.now(UTC) - max(row["ts"] for row in clicks)
        run = int(time.time())
        for row in clicks:
            row["ts"] = row["ts"] + shift
            row["event_id"] = f"{row['event_id']}-live{run}"
    return stock, clicks


def _files(store: MetadataStore, dataset: str) -> list[str]:
    version = store.current_version(dataset)
    if version is None:
        raise ZhongtaiError("not_found", f"dataset '{dataset}' has no version", "run `zhongtai demo` first")
    return version.files
