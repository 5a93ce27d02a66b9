from __future__ import annotations

import datetime as dt
import os

import pytest

from zhongtai.errors import ZhongtaiError
from zhongtai.govern.keys import load_keys
from zhongtai.govern.tokens import tokenize
from zhongtai.lake.ingest import ingest
from zhongtai.lake.reader import read_table

pytestmark = pytest.mark.integration

SPECS = """\
sources:
  - {name: shop, type: sql, url: "SOURCE_URL"}
datasets:
  - name: customers
    source: shop
    table: customers
    primary_key: [id]
    incremental: {watermark: updated_at}
    batch_rows: 3
    fields:
      - {name: phone, pii: phone, description: mobile as typed}
  - name: events
    source: shop
    table: events
    batch_rows: 4
"""


def _ts(day: int) -> dt.datetime:
    return dt.datetime(2026, 1, day, 12, 0, 0)


@pytest.fixture
def shop(lake_bench):
    lake_bench.sql(
        "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT, phone TEXT, updated_at TIMESTAMP)"
    )
    lake_bench.sql("CREATE TABLE events (kind TEXT, n INTEGER)")
    lake_bench.sql(
        "INSERT INTO customers VALUES (:id, :name, :phone, :ts)",
        [{"id": i, "name": f"客户{i}", "phone": f"138{i:08d}", "ts": _ts(1 + i % 3)} for i in range(10)],
    )
    lake_bench.sql("INSERT INTO events VALUES (:k, :n)", [{"k": "view", "n": i} for i in range(9)])
    lake_bench.apply(SPECS)
    return lake_bench


def _rows(bench, name, version=None):
    return sorted(
        read_table(bench.store, bench.lake, name, version).to_pylist(),
        key=lambda r: tuple(map(str, r.values())),
    )


def test_first_ingest_records_version_schema_and_fields(shop):
    result = ingest(shop.store, shop.lake, "customers")
    assert (result.created, result.version, result.rows, result.rows_added) == (True, 1, 10, 10)
    current = shop.store.current_version("customers")
    assert [(c.name, c.type) for c in current.schema] == [
        ("id", "int64"),
        ("name", "string"),
        ("phone", "string"),
        ("updated_at", "timestamp"),
    ]
    assert current.watermark == "2026-01-03T12:00:00"
    fields = {f.name: f for f in shop.store.fields("customers")}
    assert (fields["phone"].pii, fields["phone"].description) == ("phone", "mobile as typed")
    assert _rows(shop, "customers")[0]["name"] == "客户0"


def test_reingest_with_nothing_new_adds_no_version_and_no_rows(shop):
    ingest(shop.store, shop.lake, "customers")
    ingest(shop.store, shop.lake, "events")
    again = ingest(shop.store, shop.lake, "customers")
    assert (again.created, again.version, again.rows) == (False, 1, 10)
    full_again = ingest(shop.store, shop.lake, "events")
    assert (full_again.created, full_again.version, full_again.rows) == (False, 1, 9)
    assert [r.status for r in shop.store.runs("customers")] == ["unchanged", "succeeded"]


def test_incremental_new_version_holds_exactly_the_changes(shop):
    ingest(shop.store, shop.lake, "customers")
    before = {r["id"]: r for r in _rows(shop, "customers")}
    shop.sql(
        "UPDATE customers SET phone = '+86 139 0000 0000', updated_at = :ts WHERE id IN (2, 5)",
        [{"ts": _ts(9)}],
    )
    shop.sql("INSERT INTO customers VALUES (10, 'New', NULL, :ts)", [{"ts": _ts(9)}])
    result = ingest(shop.store, shop.lake, "customers")
    assert (result.created, result.version, result.rows_added, result.rows_updated, result.rows) == (
        True,
        2,
        1,
        2,
        11,
    )
    after = {r["id"]: r for r in _rows(shop, "customers")}
    changed = {i for i in after if after[i] != before.get(i)}
    assert changed == {2, 5, 10}
    # phone is declared PII: the lake holds its token (docs/pii.md), the same for every writing of it
    keys = load_keys(shop.project, {"ZT_PII_KEY": os.environ["ZT_PII_KEY"]})
    assert (
        after[2]["phone"]
        == tokenize("+86 139 0000 0000", "phone", keys)
        == tokenize("13900000000", "phone", keys)
    )
    # the previous version is untouched and still readable
    assert {r["id"]: r for r in _rows(shop, "customers", version=1)} == before
    # rows at the boundary watermark are re-read but not duplicated
    again = ingest(shop.store, shop.lake, "customers")
    assert again.created is False
    # every run keeps what it read: 10 rows in full, then only rows at or after the watermark
    runs = [(r.status, r.rows_read) for r in shop.store.runs("customers")]
    assert runs == [("unchanged", again.rows_read), ("succeeded", result.rows_read), ("succeeded", 10)]
    assert 0 < result.rows_read < 10


def test_full_snapshot_counts_added_and_removed_rows(shop):
    ingest(shop.store, shop.lake, "events")
    shop.sql("DELETE FROM events WHERE n < 2")
    shop.sql("INSERT INTO events VALUES ('cart', 100)")
    result = ingest(shop.store, shop.lake, "events")
    assert (result.version, result.rows_added, result.rows_removed, result.rows) == (2, 1, 2, 8)


def test_type_change_at_source_is_reported_not_coerced(shop):
    ingest(shop.store, shop.lake, "events")
    shop.sql("DROP TABLE events")
    shop.sql("CREATE TABLE events (kind TEXT, n TEXT)")
    shop.sql("INSERT INTO events VALUES ('view', 'seven')")
    with pytest.raises(ZhongtaiError, match="column 'n' changed type from int64 to string"):
        ingest(shop.store, shop.lake, "events")
    assert shop.store.current_version("events").version == 1
    accepted = ingest(shop.store, shop.lake, "events", accept_schema_change=True)
    assert accepted.version == 2
    assert accepted.schema_changes == ["column 'n' changed type from int64 to string"]


def test_bad_row_mid_ingest_leaves_previous_version_and_no_files(shop):
    ingest(shop.store, shop.lake, "customers")
    files_before = sorted(p.relative_to(shop.lake.root) for p in _parquet_files(shop))
    specs = SPECS.replace(
        "- {name: phone, pii: phone, description: mobile as typed}", "- {name: phone, type: int64}"
    )
    shop.apply(specs)
    shop.sql("UPDATE customers SET updated_at = :ts", [{"ts": _ts(20)}])
    shop.sql("UPDATE customers SET phone = 'not a number' WHERE id = 9")
    declared = "column 'phone' holds a value that does not fit its declared type int64"
    with pytest.raises(ZhongtaiError, match=declared) as caught:
        ingest(shop.store, shop.lake, "customers")
    assert shop.store.current_version("customers").version == 1
    assert sorted(p.relative_to(shop.lake.root) for p in _parquet_files(shop)) == files_before
    failed = shop.store.runs("customers")[0]
    assert failed.status == "failed"
    assert "not a number" not in caught.value.message and "not a number" not in (failed.message or "")


def _parquet_files(bench):
    from pathlib import Path

    return list(Path(bench.lake.root).rglob("*.parquet"))
