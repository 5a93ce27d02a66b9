"""Tags: members from SQL, gained/lost history across builds, online values, due builds, CLI."""

from __future__ import annotations

import json
import uuid

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from zhongtai.errors import ZhongtaiError
from zhongtai.features.online import open_online_store
from zhongtai.lake.ingest import ingest
from zhongtai.lake.storage import LakeStorage
from zhongtai.meta.store import MetadataStore
from zhongtai.spec.plan import apply_plan, build_plan
from zhongtai.spec.project import load_project
from zhongtai.tags.build import build_tag, due_tags, tag_history
from zhongtai.tags.online import materialize_tags, online_view

pytestmark = pytest.mark.integration

SPECS = """\
sources: [{{name: shop, type: sql, url: "sqlite:///{db}"}}]
datasets: [{{name: orders, source: shop, table: orders}}]
entities: [{{name: customer, join_keys: [customer_id]}}]
tags:
  - name: high_value
    entity: customer
    description: spent more than 100 in all
    every: 1d
    sql: SELECT customer_id FROM orders GROUP BY 1 HAVING sum(amount) > 100
  - name: big_basket
    entity: customer
    sql: SELECT DISTINCT customer_id FROM orders WHERE amount >= 80
"""


@pytest.fixture
def shop(tmp_path, metadata_url):
    db = tmp_path / "shop.db"
    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE orders (customer_id INTEGER, amount REAL)"))
        conn.execute(sa.text("INSERT INTO orders VALUES (1, 90), (1, 20), (2, 50), (3, 200)"))
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "s.yaml").write_text(SPECS.format(db=db))
    store = MetadataStore(metadata_url)
    apply_plan(build_plan(load_project(tmp_path / "p"), store), store)
    lake = LakeStorage(str(tmp_path / "lake"))
    ingest(store, lake, "orders")
    yield store, lake, engine
    store.close()
    engine.dispose()


def _events(store, lake, name):
    return sorted((r["customer_id"], r["event"]) for r in tag_history(store, lake, name).to_pylist())


def test_builds_record_who_gained_and_lost(shop):
    store, lake, engine = shop
    first = build_tag(store, lake, "high_value")
    assert (first.build, first.members, first.gained, first.lost) == (1, 2, 2, 0)
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM orders WHERE customer_id = 3"))
        conn.execute(sa.text("INSERT INTO orders VALUES (2, 60)"))
    ingest(store, lake, "orders")
    second = build_tag(store, lake, "high_value")
    assert (second.build, second.members, second.gained, second.lost) == (2, 2, 1, 1)
    assert _events(store, lake, "high_value") == [(1, "gained"), (2, "gained"), (3, "gained"), (3, "lost")]
    assert build_tag(store, lake, "high_value").gained == 0  # nothing changed: no events


def test_tags_online_on_both_stores(shop, tmp_path):
    store, lake, _ = shop
    build_tag(store, lake, "high_value")
    build_tag(store, lake, "big_basket")
    for url in (
        f"sqlite:///{tmp_path / 'online.db'}",
        f"redis://127.0.0.1:6379/0?prefix=zt-test-{uuid.uuid4().hex}",
    ):
        online = open_online_store(url)
        try:
            assert materialize_tags(store, lake, online, "customer") == 2
            view = online_view("customer")
            assert online.read("1", [view]) == {view: {"high_value": True, "big_basket": True}}
            assert online.read("3", [view]) == {view: {"high_value": True, "big_basket": True}}
            assert online.read("2", [view]) == {view: None}
        finally:
            online.clear(online_view("customer"))
            online.close()


def test_due_and_errors(shop):
    store, lake, _ = shop
    assert due_tags(store) == ["high_value"]  # big_basket has no schedule
    build_tag(store, lake, "high_value")
    assert due_tags(store) == []
    with pytest.raises(ZhongtaiError, match="tag 'nope' is not registered"):
        build_tag(store, lake, "nope")


def test_cli_build_list_history(shop, zt_env, monkeypatch):
    from zhongtai.cli import context
    from zhongtai.cli.app import app

    store, _, _ = shop
    monkeypatch.setenv("ZT_METADATA_URL", store.url)
    monkeypatch.setenv("ZT_LAKE_URL", str(LakeStorage(str(shop[1].root)).root))
    context.reset()
    runner = CliRunner()
    built = json.loads(runner.invoke(app, ["tags", "build", "high_value", "--json"]).stdout)
    assert built[0]["members"] == 2
    listed = json.loads(runner.invoke(app, ["tags", "list", "--json"]).stdout)
    assert {(t["name"], t["build"]) for t in listed} == {("high_value", 1), ("big_basket", None)}
    events = json.loads(runner.invoke(app, ["tags", "history", "high_value", "--key", "3", "--json"]).stdout)
    assert [e["event"] for e in events] == ["gained"]
    context.reset()
