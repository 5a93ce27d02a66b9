from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from zhongtai.lake.ingest import ingest
from zhongtai.lake.reader import read_table
from zhongtai.quality.report import build_report
from zhongtai.quality.results import QualityBlocked

pytestmark = pytest.mark.integration

SPECS = """\
sources:
  - {name: erp, type: sql, url: "SOURCE_URL"}
datasets:
  - name: orders
    source: erp
    table: orders
    checks:
      - {row_count_change: {max_drop: 0.5}, on_fail: ROWS_ON_FAIL}
      - {unique: [order_id, line], on_fail: UNIQUE_ON_FAIL}
      - {freshness: {column: updated_at, max_age: 2d}, on_fail: FRESH_ON_FAIL}
"""


def _specs(rows: str = "block", unique: str = "block", fresh: str = "warn") -> str:
    return (
        SPECS.replace("ROWS_ON_FAIL", rows).replace("UNIQUE_ON_FAIL", unique).replace("FRESH_ON_FAIL", fresh)
    )


def _recent(hours: int = 1) -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(hours=hours)


@pytest.fixture
def erp(bench_any_store):
    bench = bench_any_store
    bench.sql("CREATE TABLE orders (order_id INTEGER, line INTEGER, amount REAL, updated_at TIMESTAMP)")
    bench.sql("INSERT INTO orders VALUES (:o, 1, 9.5, :ts)", [{"o": i, "ts": _recent()} for i in range(10)])
    bench.apply(_specs())
    return bench


def test_blocking_row_count_drop_keeps_the_previous_version_and_records_why(erp):
    assert ingest(erp.store, erp.lake, "orders").version == 1
    erp.sql("DELETE FROM orders WHERE order_id >= 3")
    with pytest.raises(
        QualityBlocked, match=r"row_count_change: rows fell from 10 to 3 \(70%, max drop 50%\)"
    ):
        ingest(erp.store, erp.lake, "orders")
    assert erp.store.current_version("orders").version == 1
    assert read_table(erp.store, erp.lake, "orders").num_rows == 10
    failed = erp.store.runs("orders")[0]
    assert failed.status == "failed"
    assert "rows fell from 10 to 3" in failed.message
    report = build_report(erp.store, erp.lake, "orders").to_dict()
    assert report["version"] == 1
    assert [b["reason"] for b in report["blocked_runs"]] == [
        "row_count_change: rows fell from 10 to 3 (70%, max drop 50%)"
    ]
    # nothing of the blocked run is left in the lake
    assert not list((Path(erp.lake.root) / "_staging").glob("*/*"))
    assert not (Path(erp.lake.root) / "_quarantine").exists()


def test_warn_lets_the_version_through_with_a_warning(erp):
    ingest(erp.store, erp.lake, "orders")
    erp.apply(_specs(rows="warn"))
    erp.sql("DELETE FROM orders WHERE order_id >= 3")
    result = ingest(erp.store, erp.lake, "orders")
    assert (result.version, result.rows) == (2, 3)
    assert result.warnings == ["row_count_change: rows fell from 10 to 3 (70%, max drop 50%)"]
    run = erp.store.quality.for_version("orders", 2)
    assert run.status == "warned"
    statuses = {r["rule"]: r["status"] for r in run.results}
    assert statuses == {
        "row_count_change": "warned",
        "unique(order_id, line)": "pass",
        "freshness(updated_at)": "pass",
    }


def test_composite_key_duplicates_block(erp):
    erp.sql("INSERT INTO orders VALUES (3, 1, 1.0, :ts)", [{"ts": _recent()}])
    with pytest.raises(QualityBlocked, match=r"unique\(order_id, line\): 1 key values appear more than once"):
        ingest(erp.store, erp.lake, "orders")
    assert erp.store.current_version("orders") is None


def test_stale_data_warns_or_blocks(erp):
    erp.sql("UPDATE orders SET updated_at = :ts", [{"ts": _recent(hours=24 * 5)}])
    result = ingest(erp.store, erp.lake, "orders")
    assert result.version == 1
    assert result.warnings[0].startswith("freshness(updated_at): newest updated_at is ")
    assert result.warnings[0].endswith("5.0 days old (max 2d)")
    erp.apply(_specs(fresh="block"))
    erp.sql("INSERT INTO orders VALUES (99, 1, 1.0, :ts)", [{"ts": _recent(hours=24 * 4)}])
    with pytest.raises(
        QualityBlocked, match=r"freshness\(updated_at\): newest updated_at is .* 4.0 days old"
    ):
        ingest(erp.store, erp.lake, "orders")
    assert erp.store.current_version("orders").version == 1
