"""Batch scoring of text, forecast and recommendation capabilities: each answers as its runtime's decide()
does, is keyed as the write-back needs, and writes back idempotently; missing columns are named."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pyarrow.csv as pacsv
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from tests.capabilities.recommend_shop import OUT_OF_STOCK, STORE, Shop, make_shop
from tests.models.forecast_world import make_world
from tests.models.text_world import Desk, make_desk
from zhongtai.capabilities import batch_tasks
from zhongtai.capabilities.batch import score_batch
from zhongtai.capabilities.batch_input import query_rows
from zhongtai.capabilities.runtime import build_runtime
from zhongtai.cli import context
from zhongtai.cli.app import app
from zhongtai.errors import ZhongtaiError
from zhongtai.features.materialize import materialize
from zhongtai.features.online.base import OnlineStore, open_online_store
from zhongtai.integrate.writeback import write_scores
from zhongtai.meta.records import Change
from zhongtai.meta.store import MetadataStore
from zhongtai.models.train import train_model

pytestmark = pytest.mark.integration
TICKETS = "SELECT ticket_id, customer_id, text FROM tickets ORDER BY ticket_id LIMIT 150"


def _write_back_to(store: MetadataStore, capability: str, source: str | None, target: dict[str, Any]) -> None:
    """Point a capability's write_back at `target` (creating a SQLite source when `source` is a URL)."""
    changes = []
    if source is not None:
        changes.append(Change("sources", "create", "crm", {"name": "crm", "type": "sql", "url": source}))
    spec = store.spec("capabilities", capability)
    changes.append(Change("capabilities", "update", capability, {**spec, "write_back": target}))
    store.apply(changes, "t")


@pytest.fixture(scope="module")
def desk(tmp_path_factory) -> Iterator[tuple[Desk, OnlineStore, str]]:
    tmp_path = tmp_path_factory.mktemp("batch_text")
    made = make_desk(tmp_path)
    version = train_model(made.store, made.lake, "intent")
    made.store.models.set_alias("intent", version.version, "champion")
    online = open_online_store(f"sqlite:///{tmp_path / 'online.db'}")
    materialize(made.store, made.lake, online, "profile")
    yield made, online, f"sqlite:///{tmp_path / 'crm.db'}"
    online.close()
    made.store.close()


def test_text_rows_get_the_intent_and_route_decide_gives(desk, monkeypatch):
    made, online, crm = desk
    monkeypatch.setattr(batch_tasks, "TEXT_CHUNK", 100)
    rows = query_rows(made.store, made.lake, TICKETS)
    with pytest.raises(ZhongtaiError, match=r"the query: \d+ row\(s\) repeat a key \(customer_id\)"):
        score_batch(made.store, made.lake, "intent", rows, online=online)
    _write_back_to(
        made.store, "intent", crm, {"source": "crm", "table": "ticket_intents", "keys": ["ticket_id"]}
    )
    moved: list[tuple[int, int]] = []
    scores = score_batch(
        made.store, made.lake, "intent", rows, online=online, on_progress=lambda d, t: moved.append((d, t))
    )
    assert moved == [(100, 150), (150, 150)]  # one classification per chunk
    assert scores.join_keys == ["ticket_id"]
    assert scores.table.column_names == ["ticket_id", "score", "decision", "route", "queue", "escalation"]
    runtime = build_runtime("intent", made.store, made.lake, online)
    requests = rows.table.to_pylist()
    for request, row in list(zip(requests, scores.table.to_pylist(), strict=True))[:20]:
        live = runtime.decide(request).to_dict()
        assert (row["decision"], row["route"], row["queue"], row["escalation"]) == (
            live["intent"],
            live["route"],
            live["queue"],
            live["escalation"],
        )
        assert row["score"] == pytest.approx(live["confidence"], abs=1e-6)
    assert (
        set(scores.counts("route")) <= {"auto", "human_review"}
        and sum(scores.counts("route").values()) == 150
    )
    first = write_scores(made.store, scores)
    again = write_scores(made.store, score_batch(made.store, made.lake, "intent", rows, online=online))
    assert (first.inserted, again.unchanged, again.written) == (150, 150, 0)


def test_text_rows_need_the_text_and_rows_at_all(desk):
    made, online, _ = desk
    sql = "SELECT DISTINCT customer_id, 'T' || customer_id AS ticket_id FROM tickets"  # unique either way
    textless = query_rows(made.store, made.lake, sql)
    with pytest.raises(ZhongtaiError, match=r"the query has no column 'text' \(the text to classify\)"):
        score_batch(made.store, made.lake, "intent", textless, online=online)
    with pytest.raises(
        ZhongtaiError,
        match=r"capability 'intent' \(text_classification\) needs rows giving the texts to classify",
    ):
        score_batch(made.store, made.lake, "intent", online=online)


@pytest.fixture(scope="module")
def forecast(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("batch_forecast")
    world = make_world(tmp_path)
    version = train_model(world.store, world.lake, "demand")
    world.store.models.set_alias("demand", version.version, "champion")
    online = open_online_store(f"sqlite:///{tmp_path / 'online.db'}")
    yield world, online
    online.close()
    world.store.close()


def test_the_score_command_writes_every_series_to_a_csv_file(forecast, tmp_path, monkeypatch):
    world, _ = forecast
    monkeypatch.setenv("ZT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ZT_METADATA_URL", world.store.url)
    monkeypatch.setenv("ZT_LAKE_URL", world.lake.url)
    monkeypatch.setenv("ZT_ONLINE_URL", f"sqlite:///{tmp_path / 'online.db'}")
    context.reset()
    out = tmp_path / "risk.csv"
    try:
        result = CliRunner().invoke(app, ["score", "demand-risk", "--out", str(out), "--json"])
    finally:
        context.reset()
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["scored"] == 12 and summary["out"]["written"] == 12
    written = pacsv.read_csv(out)
    assert written.num_rows == 12 and {"item_id", "store_id", "forecast_total", "run_id"} <= set(
        written.column_names
    )
    assert set(written.column("run_id").to_pylist()) == {summary["out"]["run_id"]}


def test_every_series_is_forecast_as_decide_answers(forecast):
    world, online = forecast
    scores = score_batch(world.store, world.lake, "demand-risk", online=online)
    assert scores.join_keys == ["item_id", "store_id"] and scores.table.num_rows == 12
    runtime = build_runtime("demand-risk", world.store, world.lake, online)
    for row in scores.table.to_pylist():
        live = runtime.decide({"item_id": row["item_id"], "store_id": row["store_id"]}).to_dict()
        assert (row["score"], row["decision"]) == (live["score"], live["decision"])
        assert (row["forecast_total"], row["forecast_lo"], row["forecast_hi"]) == (
            live["forecast"]["total"],
            live["interval"]["lo"],
            live["interval"]["hi"],
        )
        assert row["forecast_as_of"] == live["forecast"]["as_of"] and row["interval_level"] == 80
    chosen = query_rows(world.store, world.lake, "SELECT 11 AS item_id, 1 AS store_id UNION ALL SELECT 99, 1")
    some = score_batch(world.store, world.lake, "demand-risk", chosen, online=online).table.to_pylist()
    assert some[0]["decision"] in {"reorder", "fine"} and some[0]["forecast_total"] is not None
    assert (some[1]["decision"], some[1]["forecast_total"]) == ("unknown", None)  # no such series
    keyless = query_rows(world.store, world.lake, "SELECT 11 AS item_id")
    with pytest.raises(
        ZhongtaiError, match=r"the query has no column 'store_id' \(the capability's entity key\)"
    ):
        score_batch(world.store, world.lake, "demand-risk", keyless, online=online)


@pytest.fixture(scope="module")
def shop(tmp_path_factory) -> Iterator[Shop]:
    tmp_path = tmp_path_factory.mktemp("batch_recommend")
    made = make_shop(tmp_path, f"sqlite:///{tmp_path / 'meta.db'}", f"sqlite:///{tmp_path / 'online.db'}")
    version = train_model(made.store, made.lake, "recommender")
    made.store.models.set_alias("recommender", version.version, "champion")
    yield made
    made.online.close()
    made.store.close()


def test_recommendations_are_one_row_per_person_and_rank(shop):
    sql = f"SELECT customer_id, {STORE} AS store_id FROM customers ORDER BY customer_id LIMIT 40"
    rows = query_rows(shop.store, shop.lake, sql)
    _write_back_to(shop.store, "recommend", None, {"source": "shop", "table": "zt_recommendations"})
    scores = score_batch(shop.store, shop.lake, "recommend", rows, online=shop.online)
    assert scores.join_keys == ["customer_id", "rank"]
    runtime = build_runtime("recommend", shop.store, shop.lake, shop.online)
    table = scores.table.to_pylist()
    for customer in (1, 2, 17, 40):
        live = runtime.decide({"customer_id": customer, "store_id": STORE}).to_dict()
        mine = [r for r in table if r["customer_id"] == customer]
        assert [r["rank"] for r in mine] == list(range(1, len(mine) + 1))
        assert [(r["item"], r["reason"]) for r in mine] == [(i["item"], i["reason"]) for i in live["items"]]
        assert {r["decision"] for r in mine} == {live["decision"]}
    assert not {r["item"] for r in table} & OUT_OF_STOCK
    first = write_scores(shop.store, scores)
    again = write_scores(
        shop.store, score_batch(shop.store, shop.lake, "recommend", rows, online=shop.online)
    )
    assert (first.inserted, again.unchanged, again.written, again.removed) == (len(table), len(table), 0, 0)
    with shop.source.connect() as conn:
        stored = conn.execute(
            sa.text("SELECT count(*), count(DISTINCT customer_id) FROM zt_recommendations")
        ).one()
    assert tuple(stored) == (len(table), 40)
    with pytest.raises(
        ZhongtaiError, match=r"capability 'recommend' \(recommendation\) needs rows giving each"
    ):
        score_batch(shop.store, shop.lake, "recommend", online=shop.online)
    storeless = query_rows(shop.store, shop.lake, "SELECT customer_id FROM customers")
    with pytest.raises(
        ZhongtaiError, match=r"no column 'store_id' \(the store whose shelf the stock rule reads\)"
    ):
        score_batch(shop.store, shop.lake, "recommend", storeless, online=shop.online)


def test_without_a_stock_rule_every_person_with_features_is_recommended(shop):
    scores = score_batch(shop.store, shop.lake, "recommend-anywhere", online=shop.online)
    persons = set(scores.table.column("customer_id").to_pylist())
    assert len(persons) == 300 and scores.groups is not None and scores.groups.num_rows == 300
    runtime = build_runtime("recommend-anywhere", shop.store, shop.lake, shop.online)
    mine = [r["item"] for r in scores.table.to_pylist() if r["customer_id"] == 5]
    assert mine == [i["item"] for i in runtime.decide({"customer_id": 5}).to_dict()["items"]]
