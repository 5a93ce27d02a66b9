from __future__ import annotations

import datetime as dt

import pytest

from zhongtai.errors import ZhongtaiError
from zhongtai.lake.ingest import ingest
from zhongtai.lake.reader import read_table
from zhongtai.quality.report import quarantined_rows

pytestmark = pytest.mark.integration

SPECS = """\
sources:
  - {name: shop, type: sql, url: "SOURCE_URL"}
datasets:
  - name: customers
    source: shop
    table: customers
  - name: orders
    source: shop
    table: orders
    primary_key: [order_id]
    incremental: {watermark: updated_at}
    dedupe: [order_id]
    fields:
      - name: customer_id
        checks: [{references: {dataset: customers, field: customer_id}}]
      - name: coupon
        checks: [unique]
      - name: channel
        checks: [{accepted_values: [web, app], on_fail: warn}]
"""


def _ts(day: int) -> dt.datetime:
    return dt.datetime(2026, 1, day, 12, 0, 0)


@pytest.fixture
def shop(bench):
    bench.sql("CREATE TABLE customers (customer_id TEXT, name TEXT)")
    bench.sql("INSERT INTO customers VALUES (:c, 'x')", [{"c": f"C{i}"} for i in range(3)])
    bench.sql(
        "CREATE TABLE orders (order_id INTEGER, customer_id TEXT, coupon TEXT, channel TEXT, "
        "updated_at TIMESTAMP)"
    )
    bench.apply(SPECS)
    return bench


def _orders(bench, rows):
    bench.sql("INSERT INTO orders VALUES (:o, :c, :k, :ch, :ts)", rows)


def _row(order, customer, coupon=None, channel="web", day=1):
    return {"o": order, "c": customer, "k": coupon, "ch": channel, "ts": _ts(day)}


def test_references_need_the_referenced_dataset_ingested(shop):
    _orders(shop, [_row(1, "C1")])
    with pytest.raises(
        ZhongtaiError, match="a references check needs dataset 'customers', which has no version"
    ):
        ingest(shop.store, shop.lake, "orders")


def test_unknown_customer_is_quarantined_and_dedupe_keeps_the_newest(shop):
    ingest(shop.store, shop.lake, "customers")
    _orders(
        shop,
        [
            _row(1, "C1", day=1),
            _row(1, "C2", day=2),  # same order, newer: kept, the older one is deduplicated
            _row(2, "C9"),  # unknown customer
            _row(3, "C0", coupon="X", channel="shop"),  # channel only warns
            _row(4, "C0", coupon="X"),  # coupon used twice
        ],
    )
    result = ingest(shop.store, shop.lake, "orders")
    assert (result.rows_read, result.rows, result.rows_quarantined, result.rows_deduped) == (5, 1, 3, 1)
    kept = read_table(shop.store, shop.lake, "orders").to_pylist()
    assert [(r["order_id"], r["customer_id"]) for r in kept] == [(1, "C2")]
    run = shop.store.quality.for_version("orders", 1)
    reasons = {r["order_id"]: r["_zt_reason"] for r in quarantined_rows(shop.lake, run.quarantine_files, 10)}
    assert reasons == {
        2: "customer_id 'C9' is not in customers.customer_id",
        3: "channel 'shop' is not one of web, app; coupon 'X' appears 2 times",
        4: "coupon 'X' appears 2 times",
    }
    results = {r["rule"]: (r["failed"], r["status"]) for r in run.results}
    assert results["channel.accepted_values"] == (1, "warned")
    assert results["dedupe(order_id)"] == (1, "info")
    assert result.warnings == ["channel.accepted_values: channel <value> is not one of web, app"]


def test_incremental_ingest_checks_only_new_rows_and_keeps_counts_per_version(shop):
    ingest(shop.store, shop.lake, "customers")
    _orders(shop, [_row(1, "C1", day=1)])
    assert ingest(shop.store, shop.lake, "orders").version == 1
    _orders(shop, [_row(2, "C2", day=3), _row(3, "nobody", day=3)])
    result = ingest(shop.store, shop.lake, "orders")
    assert (result.version, result.rows, result.rows_quarantined) == (2, 2, 1)
    assert sorted(r["order_id"] for r in read_table(shop.store, shop.lake, "orders").to_pylist()) == [1, 2]
    assert shop.store.quality.for_version("orders", 1).rows_quarantined == 0
    assert shop.store.quality.for_version("orders", 2).rows_quarantined == 1


def test_run_with_only_bad_new_rows_makes_no_version_and_says_so(shop):
    ingest(shop.store, shop.lake, "customers")
    _orders(shop, [_row(1, "C1", day=1)])
    ingest(shop.store, shop.lake, "orders")
    _orders(shop, [_row(2, "nobody", day=3)])
    result = ingest(shop.store, shop.lake, "orders")
    assert (result.created, result.version, result.rows_quarantined) == (False, 1, 1)
    run = shop.store.runs("orders")[0]
    assert (run.status, run.message) == (
        "unchanged",
        "1 rows failed quality checks; the kept rows equal the current version",
    )
