"""Entities beyond the person in the retail scenario: product, store and the composite product x store, built
from the generated ERP and inventory, materialized, and read online by their (composite) keys."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from zhongtai.catalog.lineage import LineageGraph
from zhongtai.features.materialize import materialize
from zhongtai.features.offline import build_view
from zhongtai.features.on_demand import OnDemandFeatures
from zhongtai.features.online.base import entity_key
from zhongtai.features.selection import select_features
from zhongtai.lake.ingest import ingest
from zhongtai.lake.storage import LakeStorage
from zhongtai.meta.store import MetadataStore
from zhongtai.scenarios.retail.generate import generate
from zhongtai.spec.plan import apply_plan, build_plan
from zhongtai.spec.project import load_project

pytestmark = pytest.mark.integration
VIEWS = ("product_sales", "store_sales", "product_store_stock")


@pytest.fixture
def retail(tmp_path):
    report = generate(tmp_path / "retail", 400, seed=5)
    store = MetadataStore(f"sqlite:///{tmp_path / 'metadata.db'}")
    lake = LakeStorage(str(tmp_path / "lake"))
    apply_plan(build_plan(load_project(report.project_dir), store), store)
    for name in ("erp_products", "erp_stores", "erp_orders", "erp_order_lines", "inventory_stock"):
        ingest(store, lake, name)
    yield store, lake
    store.close()


def test_product_store_and_composite_views_are_registered_built_and_served(retail, online):
    store, lake = retail
    assert store.spec("entities", "product_store")["join_keys"] == ["product_id", "store_id"]
    for view in VIEWS:
        build = build_view(store, lake, view)
        assert build.rows > 0, view
        assert materialize(store, lake, online, view) > 0, view

    stock = store.features.latest_build("product_store_stock")
    newest = dt.datetime.fromisoformat(stock.max_timestamp)
    rows = duckdb.sql(
        f"SELECT * FROM read_parquet({stock.files}) WHERE ts = $newest ORDER BY product_id, store_id",
        params={"newest": newest},
    ).fetchall()
    product, shop, _, on_hand, sold_7d, stockouts, cover, in_stock = rows[0]
    # The composite key is one online entity: product 1 in store A is not product 1 in store B.
    found = online.read(entity_key([product, shop]), ["product_store_stock"])["product_store_stock"]
    assert found == {
        "on_hand": on_hand,
        "sold_7d": sold_7d,
        "stockout_days_7d": stockouts,
        "days_of_cover": cover,
        "in_stock": in_stock,
    }
    other_store = next(r for r in rows if r[0] == product and r[1] != shop)
    assert (
        online.read(entity_key([product, other_store[1]]), ["product_store_stock"])["product_store_stock"][
            "on_hand"
        ]
        == other_store[3]
    )
    assert online.read(entity_key([shop, product]), ["product_store_stock"]) == {"product_store_stock": None}

    # The retail group asks for the stock view and the on-demand answer to "can this store serve 3 units?".
    selection = select_features(store, [], ["stock_status"])
    assert selection.names == [
        "on_hand", "sold_7d", "stockout_days_7d", "days_of_cover", "in_stock", "can_fulfil", "cover_after_request",
    ]  # fmt: skip
    serving = OnDemandFeatures(selection.on_demand_views, selection.names, ["product_store_stock"])
    answer = serving.compute([found], serving.request_values({"quantity": 3}))
    assert answer["can_fulfil"] is (on_hand >= 3)
    expected_cover = None if sold_7d == 0 else (on_hand - 3) / (sold_7d / 7.0)
    assert answer["cover_after_request"] == pytest.approx(expected_cover)


def test_lineage_runs_from_inventory_to_the_stock_group(retail):
    store, _ = retail
    upstream = LineageGraph.from_store(store).describe("feature_group:stock_status")["upstream"]
    edges = {(e["from"]["name"], e["relation"], e["to"]["name"]) for e in upstream}
    assert {
        ("product_store_stock", "groups", "stock_status"),
        ("stock_request", "groups", "stock_status"),
        ("product_store_stock", "computes", "stock_request"),
        ("inventory_stock", "reads", "product_store_stock"),
        ("inventory", "feeds", "inventory_stock"),
    } <= edges
