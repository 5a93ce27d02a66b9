"""OneID over the lake and the metadata store: runs published atomically, persons and crosswalk as versioned
datasets that feature SQL reads and lineage shows, splits recorded with the links that are gone."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from tests.identity.test_oneid_resolve import people
from zhongtai.catalog.lineage import LineageGraph
from zhongtai.cli import context
from zhongtai.cli.app import app
from zhongtai.errors import ZhongtaiError
from zhongtai.features.offline import build_view
from zhongtai.identity.golden import golden_sql
from zhongtai.identity.run import identity_spec, read_output, run_oneid
from zhongtai.lake.ingest import ingest
from zhongtai.lake.reader import read_table
from zhongtai.lake.storage import LakeStorage
from zhongtai.meta.store import MetadataStore
from zhongtai.spec.identity import GOLDEN_FIELDS
from zhongtai.spec.plan import apply_plan, build_plan
from zhongtai.spec.project import load_project

pytestmark = pytest.mark.integration

SPECS = """\
sources: [{{name: shop, type: sql, url: "sqlite:///{db}"}}]
datasets:
  - {{name: crm_customers, source: shop, table: customers, primary_key: [customer_id]}}
  - {{name: orders, source: shop, table: orders, primary_key: [order_id]}}
entities: [{{name: person, join_keys: [person_id]}}]
identities:
  - name: person
    max_pairs_u: 10000
    sources:
      - dataset: crm_customers
        key: customer_id
        updated_at: updated_at
        fields: {{name: full_name, phone: mobile, email: email, birth_date: birth_date, city: city, member_id: member_id}}
      - dataset: orders
        key: order_id
        trust: 2
        updated_at: updated_at
        fields: {{name: buyer_name, phone: buyer_phone, member_id: member_id}}
feature_views:
  - name: person_orders
    entity: person
    ttl: 3650d
    sql: |
      SELECT x.person_id, max(o.updated_at) AS ts, count(*) AS orders
      FROM orders o JOIN person_crosswalk x ON x.dataset = 'orders' AND x.key = CAST(o.order_id AS VARCHAR)
      GROUP BY 1
    features: [{{name: orders, type: int64}}]
"""
STRANGER = "O-wrong-card"  # an order whose cashier typed customer 0's loyalty card


@pytest.fixture
def shop(tmp_path, metadata_url):
    db = tmp_path / "shop.db"
    engine = sa.create_engine(f"sqlite:///{db}")
    persons = people(40)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE customers (customer_id TEXT, full_name TEXT, mobile TEXT, email TEXT, birth_date TEXT, city TEXT, member_id TEXT, updated_at TEXT)"))  # fmt: skip
        conn.execute(sa.text("CREATE TABLE orders (order_id TEXT, buyer_name TEXT, buyer_phone TEXT, member_id TEXT, updated_at TEXT)"))  # fmt: skip
        conn.execute(
            sa.text("INSERT INTO customers VALUES (:c, :n, :p, :e, :b, :city, :m, '2025-01-01')"),
            [
                {"c": f"C{k}", "n": p["name"], "p": p["phone"], "e": p["email"], "b": p["birth"], "city": p["city"], "m": f"M{k}"}
                for k, p in enumerate(persons)
            ],
        )  # fmt: skip
        conn.execute(  # two orders each: the name once spaced out, the phone in an international writing
            sa.text("INSERT INTO orders VALUES (:o, :n, :p, NULL, '2025-02-01')"),
            [
                {"o": f"O{k}-{j}", "n": p["name"] if j else " ".join(p["name"]), "p": f"+86 {p['phone'][:3]} {p['phone'][3:7]} {p['phone'][7:]}"}
                for k, p in enumerate(persons) for j in range(2)
            ],
        )  # fmt: skip
        conn.execute(
            sa.text(
                f"INSERT INTO orders VALUES ('{STRANGER}', 'Oliver Twist', '+1 415 555 0100', 'M0', '2025-02-01')"
            )
        )
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "s.yaml").write_text(SPECS.format(db=db))
    store = MetadataStore(metadata_url)
    apply_plan(build_plan(load_project(tmp_path / "p"), store), store)
    lake = LakeStorage(str(tmp_path / "lake"))
    for name in ("crm_customers", "orders"):
        ingest(store, lake, name)
    yield store, lake, engine
    store.close()
    engine.dispose()


def _crosswalk(store, lake) -> dict[str, str]:
    rows = read_table(store, lake, "person_crosswalk").to_pylist()
    return {r["record_id"]: r["person_id"] for r in rows}


def test_runs_publish_versioned_datasets_and_record_a_split_with_its_evidence(shop):
    store, lake, engine = shop
    config = identity_spec(store)
    first = run_oneid(store, lake, config)
    ids = _crosswalk(store, lake)
    assert ids["orders:" + STRANGER] == ids["crm_customers:C0"]  # held together by the mistyped card
    assert store.identities.current("person").id == first["run_id"]
    assert store.current_version("person_golden").rows == first["persons"] == 40

    with engine.begin() as conn:  # the card is corrected at the till
        conn.execute(sa.text(f"UPDATE orders SET member_id = NULL, updated_at = '2025-03-01' WHERE order_id = '{STRANGER}'"))  # fmt: skip
    ingest(store, lake, "orders")
    second = run_oneid(store, lake, config)
    after = _crosswalk(store, lake)
    assert after["crm_customers:C0"] == ids["crm_customers:C0"]  # the larger part keeps the id
    assert after["orders:" + STRANGER] not in ids.values()
    assert (second["splits"], second["merges"], second["ids_changed"]) == (1, 0, 1)

    location = store.identities.current("person").location
    events = [json.loads(d) for d in read_output(lake, location, "events")["detail"].to_pylist()]
    (split,) = events
    assert split["kind"] == "split" and split["person_id"] == ids["crm_customers:C0"]
    assert split["records"] == 4
    link = {frozenset((e["record_a"], e["record_b"])): e for e in split["evidence"]}
    gone = link[frozenset(("crm_customers:C0", "orders:" + STRANGER))]
    assert gone["evidence"] == "member_id"
    assert sorted(gone["now"]) == sorted([after["crm_customers:C0"], after["orders:" + STRANGER]])

    versions = store.versions("person_crosswalk")
    assert [v.version for v in versions] == [1, 2]
    assert (versions[1].rows_added, versions[1].rows_updated, versions[1].rows_removed) == (0, 1, 0)
    golden = store.versions("person_golden")[1]
    assert (golden.rows, golden.rows_added) == (41, 1)
    assert golden.rows_updated == 1  # customer 0's golden record no longer counts the stranger's order


def test_feature_views_read_the_crosswalk_and_lineage_shows_the_chain(shop):
    store, lake, _ = shop
    with pytest.raises(ZhongtaiError, match="dataset 'person_crosswalk' has no version yet") as caught:
        build_view(store, lake, "person_orders")
    assert caught.value.hint == "run `zhongtai oneid run`"
    run_oneid(store, lake, identity_spec(store))
    build = build_view(store, lake, "person_orders")
    assert build.rows == 40 and build.inputs == {"orders": 1, "person_crosswalk": 1}
    graph = LineageGraph.from_store(store)
    up = {
        (e["from"]["name"], e["relation"], e["to"]["name"])
        for e in graph.describe("person_orders")["upstream"]
    }
    assert {
        ("person_crosswalk", "reads", "person_orders"),
        ("person", "produces", "person_crosswalk"),
        ("crm_customers", "resolves", "person"),
        ("shop", "feeds", "orders"),
    } <= up
    fields = {f.name: f.pii for f in store.fields("person_golden")}
    assert fields["phone"] == "phone" and fields["person_id"] is None
    with pytest.raises(ZhongtaiError, match="is produced by OneID"):
        ingest(store, lake, "person_golden")


def test_the_golden_fields_declared_are_the_fields_written():
    import duckdb

    con = duckdb.connect()
    con.execute("CREATE TABLE r AS SELECT * FROM (VALUES ('a:1', 'a', 1, NULL::TIMESTAMP)) t(record_id, dataset, trust, updated_at)")  # fmt: skip
    for name, _, _ in GOLDEN_FIELDS[4:]:
        con.execute(f"ALTER TABLE r ADD COLUMN {name} VARCHAR")
    con.execute("CREATE TABLE c AS SELECT 'P1' AS person_id, 'a:1' AS record_id")
    assert con.sql(golden_sql("r", "c")).columns == [name for name, _, _ in GOLDEN_FIELDS]


def test_a_crash_before_the_commit_leaves_the_previous_run_current(shop, monkeypatch):
    store, lake, _ = shop
    config = identity_spec(store)
    first = run_oneid(store, lake, config)

    def crash(*args, **kwargs):
        raise RuntimeError("killed")

    monkeypatch.setattr(store.identities, "publish", crash)
    with pytest.raises(RuntimeError, match="killed"):
        run_oneid(store, lake, config)
    assert store.identities.current("person").id == first["run_id"]
    assert store.current_version("person_crosswalk").version == 1
    assert lake.listdir(lake.path("_oneid", "person")) == [first["run_id"]]  # the orphan folder is gone


def test_stats_come_from_the_metadata_store(shop, monkeypatch):
    store, lake, _ = shop
    run_oneid(store, lake, identity_spec(store))
    run_oneid(store, lake, identity_spec(store))
    monkeypatch.setenv("ZT_METADATA_URL", store.url)
    monkeypatch.setenv("ZT_LAKE_URL", lake.url)
    context.reset()
    try:
        result = CliRunner().invoke(app, ["oneid", "stats", "--json"], catch_exceptions=False)
    finally:
        context.reset()
    found = json.loads(result.output)
    assert (found["persons"], found["records"], found["merges"], found["splits"]) == (40, 121, 0, 0)
    assert found["runs"] == 2 and found["datasets"] == ["person_golden", "person_crosswalk"]
    untrainable = found["untrainable_levels"]  # 40 people: the name typo levels are never seen, say
    assert untrainable and all(
        set(u) == {"comparison", "level", "probability", "value", "reason"} for u in untrainable
    )
    assert untrainable == store.identities.current("person").stats["untrainable_levels"]
    monkeypatch.setenv("ZT_METADATA_URL", store.url)
    context.reset()
    try:
        text = CliRunner().invoke(app, ["oneid", "stats"], catch_exceptions=False).output
    finally:
        context.reset()
    assert f"{len(untrainable)} model levels kept their prior" in text


def test_a_lake_of_the_first_version_is_continued_from(shop, tmp_path):
    """Before the metadata store held the pointer, `_oneid/current.json` did: its ids are kept."""
    store, lake, _ = shop
    first = run_oneid(store, lake, identity_spec(store))
    location = store.identities.current("person").location
    lake.fs.copy(location, lake.path("_oneid", "v0-run"), recursive=True)
    with lake.fs.open(lake.path("_oneid", "current.json"), "w") as f:
        json.dump({"run_id": "v0-run", "next_id": first["next_id"] + 5}, f)
    fresh = MetadataStore(f"sqlite:///{tmp_path / 'fresh.db'}")  # a store that never saw a run
    try:
        apply_plan(build_plan(load_project(tmp_path / "p"), fresh), fresh)
        for name in ("crm_customers", "orders"):
            ingest(fresh, lake, name)
        again = run_oneid(fresh, lake, identity_spec(fresh))
        assert again["ids_changed"] == 0 and again["next_id"] == first["next_id"] + 5
        assert _crosswalk(fresh, lake) == _crosswalk(store, lake)
    finally:
        fresh.close()
