"""A small world for the Data, Lineage and Person pages, built on the churn world: a shop's customers and
orders (phones and names stored encrypted, as the retail project keeps them), a 300-column event table, a
quality rule that quarantines rows, a OneID run over customers and orders, tags built twice (so they have
history), an online feature view of persons, logged decisions about a person, the retail policy's roles.

Built once per test module in a few seconds: 12 people, one OneID run, one ingest per dataset."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from tests.capabilities.world import World
from tests.conftest import TEST_PII_SECRET
from tests.gateway.conftest import RunningGateway, served_world
from tests.identity.test_oneid_resolve import people
from zhongtai.errors import ZhongtaiError

PERSONS = people(12)
PHONE = PERSONS[0]["phone"]  # customer C0's mobile: a steward sees it, an analyst sees it masked
MASKED_PHONE = f"{PHONE[:3]}****{PHONE[-4:]}"
WIDE_COLUMNS = 300
SPECS = """\
sources:
  - {name: shop, type: sql, url: "sqlite:///DB"}
  - {name: drop, type: files, url: "DROP"}
datasets:
  - name: crm_customers
    source: shop
    table: customers
    primary_key: [customer_id]
    owner: crm-team
    description: Every customer the CRM knows, one row each
    update_frequency: 1d
    fields:
      - {name: customer_id, description: The CRM's customer number}
      - {name: mobile, pii: phone, storage: encrypted, description: Mobile phone}
      - {name: full_name, pii: name, storage: encrypted, description: Name as registered}
      - {name: email, pii: email, storage: clear}
      - name: city
        description: City of residence
        checks: [{accepted_values: [上海市, 北京市, 广州市]}]
  - name: crm_orders
    source: shop
    table: orders
    primary_key: [order_id]
    owner: crm-team
    description: Orders with the buyer's name and phone as typed at the till
    fields:
      - {name: buyer_phone, pii: phone, storage: encrypted}
      - {name: buyer_name, pii: name, storage: encrypted}
  - name: crm_vip
    source: drop
    path: vip.csv
    owner: crm-team
    description: Customers the CRM treats as VIPs this month
    checks: [{row_count_change: {max_drop: 0.4}}]
  - name: wide_events
    source: drop
    path: wide.csv
    owner: web-team
    description: Clickstream counters, one column per event type
entities: [{name: person, join_keys: [person_id]}]
identities:
  - name: person
    max_pairs_u: 10000
    sources:
      - dataset: crm_customers
        key: customer_id
        updated_at: updated_at
        fields: {name: full_name, phone: mobile, email: email, birth_date: birth_date, city: city}
      - dataset: crm_orders
        key: order_id
        trust: 2
        updated_at: updated_at
        fields: {name: buyer_name, phone: buyer_phone}
tags:
  - name: repeat_buyer
    entity: person
    description: Bought more than once
    sql: SELECT person_id FROM person_crosswalk WHERE dataset = 'crm_orders' GROUP BY 1 HAVING count(*) >= 2
  - name: vip
    entity: person
    description: On the CRM's VIP list
    sql: |
      SELECT x.person_id FROM person_crosswalk x
      JOIN crm_vip v ON x.dataset = 'crm_customers' AND x.key = CAST(v.customer_id AS VARCHAR)
feature_views:
  - name: person_orders
    entity: person
    ttl: 3650d
    sql: |
      SELECT x.person_id, max(o.updated_at) AS ts, count(*) AS orders
      FROM crm_orders o JOIN person_crosswalk x ON x.dataset = 'crm_orders' AND x.key = CAST(o.order_id AS VARCHAR)
      GROUP BY 1
    features: [{name: orders, type: int64}]
models:
  - name: person_churn
    entity: person
    label: {sql: "SELECT person_id, ts, orders > 1 AS label FROM person_orders"}
    feature_views: [person_orders]
capabilities:
  - name: person-churn
    model: person_churn
    input: person_id
    description: Churn risk of a OneID person
    decisions: [{decision: watch, min_score: 0.5}, {decision: none, min_score: 0.0}]
    fallback: {decision: none}
"""


@dataclass
class DataWorld:
    """The served gateway, a key per role, and the ids the tests look for."""

    gateway: RunningGateway
    keys: dict[str, str]
    person: str  # the person id of customer C0
    second: str  # customer C1's: two orders, so the tag's first build gained them
    records: list[str]  # C0's records in every source

    @property
    def url(self) -> str:
        """The console's address (what `sign_in` opens)."""
        return f"{self.gateway.url}/console/"

    @property
    def api(self) -> str:
        return self.gateway.url


def _shop(db: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE customers (customer_id TEXT, full_name TEXT, mobile TEXT, email TEXT, birth_date TEXT, city TEXT, updated_at TEXT)"))  # fmt: skip
        conn.execute(sa.text("CREATE TABLE orders (order_id TEXT, buyer_name TEXT, buyer_phone TEXT, updated_at TEXT)"))  # fmt: skip
        rows = [
            {"c": f"C{k}", "n": p["name"], "p": p["phone"], "e": p["email"], "b": p["birth"], "city": p["city"]}
            for k, p in enumerate(PERSONS)
        ]  # fmt: skip
        rows.append({"c": "C99", "n": "无名", "p": "13700000000", "e": None, "b": None, "city": "火星"})
        conn.execute(sa.text("INSERT INTO customers VALUES (:c, :n, :p, :e, :b, :city, '2025-01-01')"), rows)
        conn.execute(
            sa.text("INSERT INTO orders VALUES (:o, :n, :p, '2025-02-01')"),
            [
                {"o": f"O{k}-{j}", "n": p["name"], "p": f"+86 {p['phone'][:3]} {p['phone'][3:7]} {p['phone'][7:]}"}
                for k, p in enumerate(PERSONS) for j in range(1 + k % 2)
            ],
        )  # fmt: skip
    engine.dispose()


def _wide(drop: Path) -> None:
    header = ["visitor"] + [f"event_{i:03d}" for i in range(1, WIDE_COLUMNS)]
    lines = [",".join(header)] + [
        ",".join([f"v{r}"] + [str(r * i % 97) for i in range(1, WIDE_COLUMNS)]) for r in range(30)
    ]
    (drop / "wide.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


def prepare(world: World, built: dict[str, str]) -> None:
    """Apply the specs, ingest, run OneID, build the tags twice, put a person's features online, log decisions."""
    from zhongtai.govern.keys import load_keys
    from zhongtai.identity.run import identity_spec, run_oneid
    from zhongtai.lake.ingest import ingest
    from zhongtai.lake.reader import read_table
    from zhongtai.meta.records import DecisionRecord
    from zhongtai.scenarios.retail.project import policy_document
    from zhongtai.spec.plan import apply_plan, build_plan
    from zhongtai.spec.project import load_project
    from zhongtai.tags.build import build_tag

    root = Path(world.storage.url).parent
    drop = root / "drop"
    drop.mkdir(exist_ok=True)
    _shop(root / "shop.db")
    _wide(drop)
    folder = root / "project"
    specs = SPECS.replace("DB", str(root / "shop.db")).replace("DROP", str(drop))
    (folder / "data.yaml").write_text(specs, encoding="utf-8")
    retail = yaml.safe_dump({"policies": [policy_document()]}, allow_unicode=True)
    (folder / "retail_policy.yaml").write_text(retail, encoding="utf-8")
    apply_plan(build_plan(load_project(folder), world.store), world.store)
    keys = load_keys(world.settings.home, {"ZT_PII_KEY": TEST_PII_SECRET})
    for name in ("crm_customers", "crm_orders", "wide_events"):
        ingest(world.store, world.storage, name, pii_keys=keys)
    run_oneid(world.store, world.storage, identity_spec(world.store, "person"), pii_keys=keys)
    crosswalk = read_table(world.store, world.storage, "person_crosswalk").to_pylist()
    person = next(r["person_id"] for r in crosswalk if r["record_id"] == "crm_customers:C0")
    second = next(r["person_id"] for r in crosswalk if r["record_id"] == "crm_customers:C1")
    built["person"], built["second"] = person, second
    # The VIP list changes between two builds: C0 gains then loses the tag, C1 keeps it, C2 gains it.
    for listed in (["C0", "C1"], ["C1", "C2"]):
        (drop / "vip.csv").write_text("customer_id\n" + "\n".join(listed) + "\n", encoding="utf-8")
        ingest(world.store, world.storage, "crm_vip", pii_keys=keys)
        for tag in ("repeat_buyer", "vip"):
            build_tag(world.store, world.storage, tag)
    # A list cut by half: the row count check blocks the run, so no version is made and the report says so.
    (drop / "vip.csv").write_text("customer_id\nC5\n", encoding="utf-8")
    with pytest.raises(ZhongtaiError, match="the new version was not made: row_count_change"):
        ingest(world.store, world.storage, "crm_vip", pii_keys=keys)
    world.online.write("person_orders", [(person, {"orders": 1})])
    now = datetime.now(UTC)
    world.store.decisions.append(
        [
            DecisionRecord(
                id=str(uuid.uuid4()), at=now - timedelta(minutes=i), capability="person-churn", principal="crm",
                model_name="person_churn", model_version=1, decision="watch" if i % 2 else "none", score=0.3 + i / 10,
                fallback=False, inputs={"person_id": who, "context": {"callback": PHONE}}, features={},
                latency_ms=2.0,
            )
            for i, who in enumerate([person, person, second])
        ]
    )  # fmt: skip


@contextmanager
def data_world(tmp_path: Path) -> Iterator[DataWorld]:
    """The world served by a real gateway, with keys: admin, analyst (masked PII), steward (clear PII),
    caller and reviewer (neither reads the catalog nor datasets)."""
    built: dict[str, str] = {}
    with pytest.MonkeyPatch.context() as env:
        env.setenv("ZT_PII_KEY", TEST_PII_SECRET)
        with served_world(
            tmp_path,
            f"sqlite:///{tmp_path / 'online.db'}",
            key=("ops", ["admin"]),
            prepare=lambda w: prepare(w, built),
        ) as running:
            access = running.world.store.access
            keys = {"admin": running.key}
            keys["analyst"] = access.create_key("ana", ["analyst"])
            keys["steward"] = access.create_key("ste", ["steward"])
            keys["caller"] = access.create_key("app", ["caller"])
            keys["reviewer"] = access.create_key("rev", ["case_reviewer"])
            records = ["crm_customers:C0", "crm_orders:O0-0"]
            yield DataWorld(running, keys, built["person"], built["second"], records)
