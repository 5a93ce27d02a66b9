"""Building feature views' offline history from ingested datasets."""

from __future__ import annotations

import datetime as dt

import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from zhongtai.errors import ZhongtaiError
from zhongtai.features.offline import build_view
from zhongtai.lake.ingest import ingest

from .conftest import SPECS

pytestmark = pytest.mark.integration


def test_build_writes_history_and_records_it(shop):
    seen: list[int] = []
    build = build_view(shop.store, shop.lake, "spend", on_progress=seen.append)
    assert (build.view, build.build, build.rows, sum(seen)) == ("spend", 1, 3, 3)
    assert build.inputs == {"orders": 1}
    assert build.max_timestamp == "2024-02-20T12:00:00"
    assert [(c.name, c.type) for c in build.schema] == [
        ("customer_id", "int64"),
        ("ts", "timestamp"),
        ("last_amount", "float64"),
        ("orders_so_far", "int64"),
    ]
    assert all("/_features/spend/" in f for f in build.files)
    rows = pq.read_table(build.files).sort_by([("customer_id", "ascending"), ("ts", "ascending")]).to_pylist()
    assert rows[1] == {
        "customer_id": 1,
        "ts": dt.datetime(2024, 2, 20, 12),
        "last_amount": 30.0,
        "orders_so_far": 2,
    }
    assert shop.store.features.latest_build("spend") == build
    assert shop.lake.listdir(shop.lake.path("_staging")) == []


def test_rebuild_after_new_data_is_the_next_build(shop):
    build_view(shop.store, shop.lake, "spend")
    with shop.source_db.begin() as conn:
        conn.execute(sa.text("INSERT INTO orders VALUES (9, 3, '2024-03-01 00:00:00', 7.5)"))
    ingest(shop.store, shop.lake, "orders")
    second = build_view(shop.store, shop.lake, "spend")
    assert (second.build, second.rows, second.inputs) == (2, 4, {"orders": 2})


def _apply_view(shop, old: str, new: str) -> None:
    assert old in SPECS
    shop.apply(SPECS.replace(old, new))


def test_missing_feature_column_is_named(shop):
    _apply_view(shop, "amount AS last_amount,", "amount AS amount_paid,")
    with pytest.raises(
        ZhongtaiError, match=r"feature view 'spend': the SQL's output lacks column\(s\) last_amount"
    ):
        build_view(shop.store, shop.lake, "spend")
    assert shop.store.features.latest_build("spend") is None
    assert shop.lake.listdir(shop.lake.path("_features")) == []


def test_undeclared_column_is_named(shop):
    _apply_view(shop, "signed_up_at AS ts, tier FROM", "signed_up_at AS ts, tier, 1 AS bonus FROM")
    with pytest.raises(
        ZhongtaiError, match=r"feature view 'profile': the SQL outputs undeclared column\(s\) bonus"
    ):
        build_view(shop.store, shop.lake, "profile")


def test_missing_join_key_is_named(shop):
    _apply_view(shop, "SELECT customer_id, signed_up_at", "SELECT customer_id AS cid, signed_up_at")
    with pytest.raises(ZhongtaiError, match=r"lacks column\(s\) customer_id"):
        build_view(shop.store, shop.lake, "profile")


def test_unknown_dataset_is_named(shop):
    _apply_view(shop, "FROM customers", "FROM customer_profiles")
    with pytest.raises(
        ZhongtaiError, match="feature view 'profile': table 'customer_profiles' is not a registered dataset"
    ):
        build_view(shop.store, shop.lake, "profile")


def test_value_that_does_not_fit_the_declared_type_fails_cleanly(shop):
    _apply_view(shop, "features: [{name: tier, type: string}]", "features: [{name: tier, type: int64}]")
    with pytest.raises(ZhongtaiError, match="feature view 'profile': Conversion Error"):
        build_view(shop.store, shop.lake, "profile")
    assert shop.store.features.latest_build("profile") is None
    assert shop.lake.listdir(shop.lake.path("_staging")) == []
    assert shop.lake.listdir(shop.lake.path("_features")) == []


def test_dataset_never_ingested_is_an_error(tmp_path, metadata_url):
    from .conftest import make_shop

    bench = make_shop(tmp_path, metadata_url)
    bench.apply()
    try:
        with pytest.raises(ZhongtaiError, match="dataset 'orders' has no version yet"):
            build_view(bench.store, bench.lake, "spend")
    finally:
        bench.store.close()
