"""A small shop that sells in pairs, for recommendation tests: a SQLite source, applied and ingested into a
real lake, the recommender trained through `train_model`, its views materialized to a real online store.

300 customers each like one of four categories of ten products; a purchase of product 2j is followed, most
of the time, by product 2j+1 (its pair), so co-occurrence has something to find. Stock at store 7: the
products listed in OUT_OF_STOCK have an empty shelf, those in RISKY a high stock-out risk. Product 99 sits
in the catalogue and the stock table but nobody ever bought it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import sqlalchemy as sa

from zhongtai.features.materialize import materialize
from zhongtai.features.offline import build_view
from zhongtai.features.online.base import OnlineStore, open_online_store
from zhongtai.lake.ingest import ingest
from zhongtai.lake.storage import LakeStorage
from zhongtai.meta.store import MetadataStore
from zhongtai.spec.plan import apply_plan, build_plan
from zhongtai.spec.project import load_project

STORE = 7
PRODUCTS = 40
OUT_OF_STOCK = frozenset(range(0, PRODUCTS, 3))  # every third product is out at store 7
RISKY = frozenset({1, 5, 11, 17, 23})
START = datetime(2025, 1, 1)
DATASETS = ("purchases", "products", "customers", "stock")

SPECS = """\
sources:
  - {name: shop, type: sql, url: "SOURCE_URL"}
datasets:
  - {name: purchases, source: shop, table: purchases, primary_key: [purchase_id],
     fields: [{name: bought_at, type: timestamp}]}
  - {name: products, source: shop, table: products, primary_key: [product_id]}
  - {name: customers, source: shop, table: customers, primary_key: [customer_id],
     fields: [{name: signed_up_at, type: timestamp}]}
  - {name: stock, source: shop, table: stock, primary_key: [product_id, store_id],
     fields: [{name: day, type: timestamp}, {name: in_stock, type: bool}]}
entities:
  - {name: customer, join_keys: [customer_id], key_types: {customer_id: int64}}
  - {name: product, join_keys: [product_id], key_types: {product_id: int64}}
  - {name: product_store, join_keys: [product_id, store_id],
     key_types: {product_id: int64, store_id: int64}}
feature_views:
  - name: profile
    entity: customer
    ttl: 3650d
    sql: SELECT customer_id, signed_up_at AS ts, age FROM customers
    features: [{name: age, type: int64}]
  - name: shelf
    entity: product_store
    ttl: 3650d
    sql: SELECT product_id, store_id, day AS ts, in_stock, risk FROM stock
    features: [{name: in_stock, type: bool}, {name: risk, type: float64}]
  - name: recent
    entity: customer
    ttl: 3650d
    sql: |
      SELECT customer_id, max(bought_at) AS ts,
             array_to_string(list(CAST(product_id AS VARCHAR) ORDER BY bought_at DESC), ',') AS products
      FROM purchases GROUP BY customer_id
    features: [{name: products, type: string}]
models:
  - name: recommender
    task: recommendation
    entity: customer
    label: {sql: "SELECT customer_id, product_id, bought_at, quantity FROM purchases", timestamp: bought_at}
    feature_views: [profile]
    validation: {fraction: 0.2}
    recommend:
      item: product_id
      item_entity: product
      weight: quantity
      items: {sql: "SELECT product_id, category, price, title FROM products", category: category,
              attributes: [price], title: title}
      candidates: {cooccurrence: 30, als: 30, popular: 20, als_factors: 8, als_iterations: 5}
      ranker: {num_boost_round: 30, min_data_in_leaf: 10}
      recent_items: recent.products
capabilities:
  - name: recommend
    model: recommender
    input: customer_id
    fallback: {decision: popular}
    recommend:
      k: 5
      max_k: 20
      stock: {in_stock: shelf.in_stock, risk: shelf.risk, demote_above: 0.5}
  - name: recommend-anywhere
    model: recommender
    input: customer_id
    fallback: {decision: popular}
"""


@dataclass
class Shop:
    store: MetadataStore
    lake: LakeStorage
    online: OnlineStore
    project: Path
    source: sa.Engine


def purchases(seed: int = 5, customers: int = 300) -> list[tuple]:
    """(purchase_id, customer_id, product_id, bought_at, quantity) over 100 days."""
    rng = np.random.default_rng(seed)
    rows = []
    for customer in range(1, customers + 1):
        taste = rng.integers(0, 4)
        for _ in range(rng.integers(3, 8)):
            first = (
                int(taste * 10 + 2 * rng.integers(0, 5)) if rng.random() < 0.8 else int(rng.integers(0, 40))
            )
            day = int(rng.integers(0, 100))
            items = [first] + ([first ^ 1] if rng.random() < 0.7 else [])
            for offset, product in enumerate(items):
                when = (START + timedelta(days=day + offset * 2, hours=offset)).isoformat(sep=" ")
                rows.append((len(rows) + 1, customer, product, when, int(rng.integers(1, 3))))
    return rows


def write_source(engine: sa.Engine, bought: list[tuple]) -> None:
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "CREATE TABLE purchases (purchase_id INTEGER PRIMARY KEY, customer_id INTEGER, "
                "product_id INTEGER, bought_at TEXT, quantity INTEGER)"
            )
        )
        conn.execute(
            sa.text(
                "CREATE TABLE products (product_id INTEGER PRIMARY KEY, category TEXT, price REAL, title TEXT)"
            )
        )
        conn.execute(
            sa.text(
                "CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, signed_up_at TEXT, age INTEGER)"
            )
        )
        conn.execute(
            sa.text(
                "CREATE TABLE stock (product_id INTEGER, store_id INTEGER, day TEXT, in_stock INTEGER, risk REAL, "
                "PRIMARY KEY (product_id, store_id))"
            )
        )
        conn.execute(
            sa.text("INSERT INTO purchases VALUES (:a, :b, :c, :d, :e)"),
            [dict(zip("abcde", r, strict=True)) for r in bought],
        )
        products = [*range(PRODUCTS), 99]
        conn.execute(
            sa.text("INSERT INTO products VALUES (:a, :b, :c, :d)"),
            [{"a": p, "b": f"c{p // 10}", "c": 10.0 + p, "d": f"product {p}"} for p in products],
        )
        conn.execute(
            sa.text("INSERT INTO customers VALUES (:a, '2024-06-01 00:00:00', :b)"),
            [{"a": c, "b": 20 + c % 50} for c in range(1, 301)],
        )
        conn.execute(
            sa.text("INSERT INTO stock VALUES (:a, :b, '2025-04-20 00:00:00', :c, :d)"),
            [
                {"a": p, "b": STORE, "c": int(p not in OUT_OF_STOCK), "d": 0.9 if p in RISKY else 0.1}
                for p in products
            ],
        )


def make_shop(tmp_path: Path, metadata_url: str, online_url: str, specs: str = SPECS) -> Shop:
    """The shop applied and ingested, its views built and materialized (nothing trained yet)."""
    source = sa.create_engine(f"sqlite:///{tmp_path / 'source.db'}")
    write_source(source, purchases())
    project = tmp_path / "project"
    project.mkdir()
    (project / "shop.yaml").write_text(specs.replace("SOURCE_URL", str(source.url)))
    store = MetadataStore(metadata_url)
    apply_plan(build_plan(load_project(project), store), store)
    lake = LakeStorage(str(tmp_path / "lake"))
    for name in DATASETS:
        ingest(store, lake, name)
    online = open_online_store(online_url)
    for view in ("profile", "shelf", "recent"):
        build_view(store, lake, view)
        materialize(store, lake, online, view)
    return Shop(store, lake, online, project, source)
