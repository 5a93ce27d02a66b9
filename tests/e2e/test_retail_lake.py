"""The retail systems on PostgreSQL + MariaDB + files, applied and ingested; re-ingest adds nothing; changes at
the source come back as a new version holding exactly those changes."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa

from zhongtai.govern.encryption import decrypt
from zhongtai.govern.keys import load_keys
from zhongtai.govern.tokens import tokenize
from zhongtai.lake.ingest import ingest
from zhongtai.lake.reader import read_table
from zhongtai.lake.storage import LakeStorage
from zhongtai.meta.store import MetadataStore
from zhongtai.scenarios.retail.generate import generate
from zhongtai.spec.plan import apply_plan, build_plan
from zhongtai.spec.project import load_project
from zhongtai.spec.references import ingest_order

pytestmark = pytest.mark.e2e

# dataset name -> the generator's row-count key
DATASETS = {
    "crm_customers": "crm.customers",
    "crm_loyalty_members": "crm.loyalty_members",
    "erp_products": "erp.products",
    "erp_stores": "erp.stores",
    "erp_orders": "erp.orders",
    "erp_order_lines": "erp.order_lines",
    "click_events": "clickstream.events",
    "service_tickets": "service.tickets",
    "inventory_stock": "inventory.stock",
    "promotion_calendar": "inventory.promotions",
}


@pytest.fixture
def retail(tmp_path, pg_url, mariadb_url):
    report = generate(tmp_path / "retail", 600, seed=11, crm_url=pg_url, erp_url=mariadb_url)
    store = MetadataStore(f"sqlite:///{tmp_path / 'metadata.db'}")
    lake = LakeStorage(str(tmp_path / "lake"))
    apply_plan(build_plan(load_project(report.project_dir), store), store)
    yield report, store, lake, sa.create_engine(pg_url), sa.create_engine(mariadb_url)
    store.close()


def test_ingest_everything_then_exactly_the_changes(retail, tmp_path):
    report, store, lake, crm, erp = retail
    # OneID publishes the person datasets and the stock forecast its outputs: they are not ingested
    produced = {"person_golden", "person_crosswalk", "stock_forecasts", "churn_scores"}
    assert set(store.registered("datasets")) == set(DATASETS) | produced
    assert set(ingest_order(store.registered("datasets"))) == set(DATASETS)
    for name in ingest_order(store.registered("datasets")):
        result = ingest(store, lake, name)
        key = DATASETS[name]
        assert (result.version, result.rows) == (1, report.rows[key]), name

    for name in DATASETS:  # nothing new at the source: no version, no rows
        again = ingest(store, lake, name)
        assert (again.created, again.version, again.rows) == (False, 1, report.rows[DATASETS[name]]), name

    now = dt.datetime(2026, 11, 20, 9, 30)
    with crm.begin() as conn:
        ids = (
            conn.execute(sa.text("SELECT customer_id FROM customers ORDER BY customer_id LIMIT 3"))
            .scalars()
            .all()
        )
        conn.execute(
            sa.text(
                "UPDATE customers SET mobile = '+86 139 1234 5678', updated_at = :now "
                "WHERE customer_id IN :ids"
            ).bindparams(sa.bindparam("ids", expanding=True)),
            {"now": now, "ids": ids},
        )
        conn.execute(
            sa.text(
                "INSERT INTO customers (customer_id, full_name, register_channel, registered_at, status, "
                "marketing_opt_in, updated_at) VALUES (99999999, '新客户', 'app', :now, 'active', true, :now)"
            ),
            {"now": now},
        )
    with erp.begin() as conn:
        order_ids = (
            conn.execute(sa.text("SELECT order_id FROM orders ORDER BY order_id LIMIT 2")).scalars().all()
        )
        conn.execute(
            sa.text(
                "UPDATE orders SET status = 'refunded', updated_at = :now WHERE order_id IN :ids"
            ).bindparams(sa.bindparam("ids", expanding=True)),
            {"now": now, "ids": order_ids},
        )
    events = report.out / "systems" / "clickstream" / "events-2026-11.jsonl"
    new_events = [
        {
            "event_id": f"E9{i:09d}",
            "ts": "2026-11-20T09:30:00.000+08:00",
            "session_id": "S9",
            "user_id": None,
            "device_id": "d9",
            "event_type": "view",
            "product_id": None,
            "channel": "web",
        }
        for i in range(2)
    ]
    events.write_text("".join(json.dumps(e) + "\n" for e in new_events))

    customers = ingest(store, lake, "crm_customers")
    assert (customers.version, customers.rows_added, customers.rows_updated) == (2, 1, 3)
    assert customers.rows == report.rows["crm.customers"] + 1
    orders = ingest(store, lake, "erp_orders")
    assert (orders.version, orders.rows_added, orders.rows_updated, orders.rows) == (
        2,
        0,
        2,
        report.rows["erp.orders"],
    )
    clicks = ingest(store, lake, "click_events")
    assert (clicks.version, clicks.rows_added, clicks.rows) == (2, 2, report.rows["clickstream.events"] + 2)
    for name in ("crm_loyalty_members", "erp_order_lines", "service_tickets", "inventory_stock"):
        assert ingest(store, lake, name).created is False, name

    table = read_table(store, lake, "crm_customers").to_pylist()
    by_id = {row["customer_id"]: row for row in table}
    assert len(by_id) == len(table)  # no duplicate keys in a version
    # PII as the scenario declares it (docs/pii.md): the phone as a token, the name encrypted beside its token
    keys = load_keys(tmp_path)
    assert all(by_id[i]["mobile"] == tokenize("13912345678", "phone", keys) for i in ids)
    new = by_id[99999999]
    assert new["full_name"] == tokenize("新客户", "name", keys)
    assert decrypt(new["full_name__encrypted"], keys) == "新客户"
    statuses = {r["order_id"]: r["status"] for r in read_table(store, lake, "erp_orders").to_pylist()}
    assert all(statuses[i] == "refunded" for i in order_ids)
