"""A small shop in a SQLite source database, applied as a project and ingested into a real lake.

Customers 1-3 have a profile, customers 1 and 2 have orders, customer 4 has nothing at all; the labels ask about
moments before, at, between and long after those events.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from zhongtai.features.online.base import OnlineStore, open_online_store
from zhongtai.lake.ingest import ingest
from zhongtai.lake.storage import LakeStorage
from zhongtai.meta.store import MetadataStore
from zhongtai.spec.plan import apply_plan, build_plan
from zhongtai.spec.project import load_project

REDIS_URL = "redis://127.0.0.1:6379/0"

SPECS = """\
sources:
  - {name: shop, type: sql, url: "SOURCE_URL"}
datasets:
  - name: customers
    source: shop
    table: customers
    primary_key: [customer_id]
    fields: [{name: signed_up_at, type: timestamp}]
  - name: orders
    source: shop
    table: orders
    primary_key: [order_id]
    fields: [{name: ordered_at, type: timestamp}, {name: amount, type: float64}]
  - name: churn
    source: shop
    table: churn
    primary_key: [label_id]
    fields: [{name: asked_at, type: timestamp}]
entities:
  - {name: customer, join_keys: [customer_id]}
feature_views:
  - name: spend
    entity: customer
    ttl: 30d
    sql: |
      SELECT customer_id, ordered_at AS ts, amount AS last_amount,
             count(*) OVER (PARTITION BY customer_id ORDER BY ordered_at) AS orders_so_far
      FROM orders
    features:
      - {name: last_amount, type: float64}
      - {name: orders_so_far, type: int64}
  - name: profile
    entity: customer
    ttl: 365d
    sql: "SELECT customer_id, signed_up_at AS ts, tier FROM customers"
    features: [{name: tier, type: string}]
models:
  - name: churn_model
    entity: customer
    label: {sql: "SELECT customer_id, asked_at AS ts, churned AS label FROM churn"}
    feature_views: [spend, profile]
"""

CUSTOMERS = [
    (1, "2024-01-01 00:00:00", "gold"),
    (2, "2024-01-10 00:00:00", "silver"),
    (3, "2024-02-01 00:00:00", "gold"),
]
ORDERS = [
    (1, 1, "2024-01-05 10:00:00", 10.0),
    (2, 1, "2024-02-20 12:00:00", 30.0),
    (3, 2, "2024-01-12 00:00:00", 5.0),
]
# (label_id, customer, asked_at, churned)
LABELS = [
    (1, 1, "2024-01-04 00:00:00", 0),  # before customer 1's first order: no spend yet
    (2, 1, "2024-01-06 00:00:00", 1),  # after the first order
    (3, 1, "2024-02-10 00:00:00", 1),  # first order is 36 days old: beyond the 30d TTL
    (4, 1, "2024-02-20 12:00:00", 0),  # exactly at the second order: it counts
    (5, 2, "2024-01-20 00:00:00", 0),
    (6, 3, "2024-01-15 00:00:00", 0),  # before customer 3 signed up
    (7, 4, "2024-03-01 00:00:00", 1),  # a customer with no features at all
]


@dataclass
class Shop:
    source_db: sa.Engine
    project: Path
    store: MetadataStore
    lake: LakeStorage

    def apply(self, specs: str = SPECS) -> None:
        (self.project / "specs.yaml").write_text(specs.replace("SOURCE_URL", str(self.source_db.url)))
        apply_plan(build_plan(load_project(self.project), self.store), self.store)

    def ingest_all(self) -> None:
        for name in ("customers", "orders", "churn"):
            ingest(self.store, self.lake, name)


def write_source(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        conn.execute(
            sa.text("CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, signed_up_at TEXT, tier TEXT)")
        )
        conn.execute(
            sa.text(
                "CREATE TABLE orders (order_id INTEGER PRIMARY KEY, customer_id INTEGER, ordered_at TEXT, amount REAL)"
            )
        )
        conn.execute(
            sa.text(
                "CREATE TABLE churn (label_id INTEGER PRIMARY KEY, customer_id INTEGER, asked_at TEXT, churned INTEGER)"
            )
        )
        conn.execute(
            sa.text("INSERT INTO customers VALUES (:a, :b, :c)"),
            [dict(zip("abc", r, strict=True)) for r in CUSTOMERS],
        )
        conn.execute(
            sa.text("INSERT INTO orders VALUES (:a, :b, :c, :d)"),
            [dict(zip("abcd", r, strict=True)) for r in ORDERS],
        )
        conn.execute(
            sa.text("INSERT INTO churn VALUES (:a, :b, :c, :d)"),
            [dict(zip("abcd", r, strict=True)) for r in LABELS],
        )


def make_shop(tmp_path: Path, metadata_url: str) -> Shop:
    source_db = sa.create_engine(f"sqlite:///{tmp_path / 'source.db'}")
    write_source(source_db)
    project = tmp_path / "project"
    project.mkdir()
    return Shop(source_db, project, MetadataStore(metadata_url), LakeStorage(str(tmp_path / "lake")))


@pytest.fixture
def shop(tmp_path, metadata_url) -> Iterator[Shop]:
    """The shop applied and ingested, with SQLite and with PostgreSQL metadata."""
    bench = make_shop(tmp_path, metadata_url)
    bench.apply()
    bench.ingest_all()
    yield bench
    bench.store.close()
    bench.source_db.dispose()


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.integration)])
def online(request, tmp_path) -> Iterator[OnlineStore]:
    """Every online store backend: SQLite in a temp folder; Redis on 127.0.0.1 under a unique key prefix."""
    if request.param == "sqlite":
        store = open_online_store(f"sqlite:///{tmp_path / 'online.db'}")
        yield store
        store.close()
        return
    prefix = f"zt_test_{uuid.uuid4().hex[:12]}"
    store = open_online_store(f"{REDIS_URL}?prefix={prefix}")
    try:
        store.client.ping()  # type: ignore[attr-defined]
    except Exception as exc:
        pytest.fail(f"Redis at {REDIS_URL} is not reachable: {exc}")
    yield store
    client = store.client  # type: ignore[attr-defined]
    keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
    if keys:
        client.delete(*keys)
    store.close()
