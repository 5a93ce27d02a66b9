"""OneID end to end on small synthetic sources: stability, new records, family phones, explain.

The cases run on DuckDB; the core ones also run together on each engine, Spark included (one local session
shared by the test run), in one test: a Spark resolution takes a minute or more on this machine.
"""

from __future__ import annotations

import pyarrow as pa
import pytest

from zhongtai.identity.config import OneIDConfig, SourceConfig
from zhongtai.identity.resolve import Resolution, resolve
from zhongtai.lake.offline import ResolutionEngine, open_offline_engine
from zhongtai.lake.offline.duckdb import DuckDBEngine
from zhongtai.lake.storage import LakeStorage

SURNAMES = ["王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周"]
GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "涛", "明", "超"]


def people(n: int) -> list[dict]:
    """n distinct people with distinct phones, e-mails and birth dates."""
    found = []
    for k in range(n):
        name = SURNAMES[k % 10] + GIVEN[(k // 10) % 16] + GIVEN[(k * 7 + 3) % 16]
        found.append(
            {
                "name": name,
                "phone": f"138{k:08d}",
                "email": f"user{k}@example.com",
                "birth": f"19{60 + k % 40}-{1 + k % 12:02d}-{1 + k % 28:02d}",
                "city": ["上海市", "北京市", "广州市"][k % 3],
            }
        )
    return found


def tables(persons: list[dict], extra_orders: int = 0) -> dict[str, pa.Table]:
    """A CRM (one row per person) and orders (two per person, phone written differently, no e-mail)."""
    crm = pa.Table.from_pylist(
        [
            {"customer_id": f"C{k}", "full_name": p["name"], "mobile": p["phone"], "email": p["email"],
             "birth_date": p["birth"], "city": p["city"], "updated_at": "2025-01-01 00:00:00"}
            for k, p in enumerate(persons)
        ]
    )  # fmt: skip
    orders = []
    for k, p in enumerate(persons):
        for j in range(2 + (extra_orders if k < 5 else 0)):
            phone = p["phone"]
            orders.append(
                {"order_id": f"O{k}-{j}", "buyer_name": p["name"] if j else " ".join(p["name"]),
                 "buyer_phone": f"+86 {phone[:3]} {phone[3:7]} {phone[7:]}", "updated_at": "2025-02-01 00:00:00"}
            )  # fmt: skip
    return {"crm": crm, "orders": pa.Table.from_pylist(orders)}


CONFIG = OneIDConfig(
    sources=[
        SourceConfig(
            dataset="crm",
            key="customer_id",
            trust=1,
            updated_at="updated_at",
            fields={
                "name": "full_name",
                "phone": "mobile",
                "email": "email",
                "birth_date": "birth_date",
                "city": "city",
            },
        ),
        SourceConfig(
            dataset="orders",
            key="order_id",
            trust=2,
            updated_at="updated_at",
            fields={"name": "buyer_name", "phone": "buyer_phone"},
        ),
    ],
    max_pairs_u=1e4,
)


def run(
    data: dict[str, pa.Table],
    previous: dict[str, str] | None = None,
    next_id: int = 1,
    engine: ResolutionEngine | None = None,
) -> Resolution:
    engine = engine or DuckDBEngine()
    for name, table in data.items():
        engine.register_arrow(name, table)
    return resolve(engine, CONFIG, previous, next_id)


def mapping(result: Resolution) -> dict[str, str]:
    cw = result.crosswalk
    return dict(zip(cw["record_id"].to_pylist(), cw["person_id"].to_pylist(), strict=True))


@pytest.mark.unit
def test_each_person_resolves_to_one_id() -> None:
    result = run(tables(people(60)))
    ids = mapping(result)
    for k in range(60):
        assert ids[f"crm:C{k}"] == ids[f"orders:O{k}-0"] == ids[f"orders:O{k}-1"]
    assert len(set(ids.values())) == 60
    assert result.persons.num_rows == 60


@pytest.mark.unit
def test_rerun_changes_no_id() -> None:
    data = tables(people(60))
    first = run(data)
    second = run(data, mapping(first), first.next_id)
    assert mapping(second) == mapping(first)
    assert second.events == []
    assert second.next_id == first.next_id


@pytest.mark.unit
def test_new_records_join_existing_persons() -> None:
    persons = people(60)
    first = run(tables(persons))
    before = mapping(first)
    second = run(tables(persons + people(70)[60:], extra_orders=2), before, first.next_id)
    after = mapping(second)
    assert all(after[r] == p for r, p in before.items())
    assert after["orders:O0-3"] == before["crm:C0"]  # a new order of an existing person
    new_ids = {after[f"crm:C{k}"] for k in range(60, 70)}
    assert len(new_ids) == 10 and not new_ids & set(before.values())


@pytest.mark.unit
def test_family_phone_does_not_merge_two_people() -> None:
    persons = people(40)
    child, parent = persons[0], persons[1]
    parent["phone"] = child["phone"]  # the parent registered with the child's number
    parent["email"] = None
    ids = mapping(run(tables(persons)))
    assert ids["crm:C0"] != ids["crm:C1"]
    assert ids["orders:O1-1"] == ids["crm:C1"]  # phone + name still links the parent's own orders


@pytest.mark.unit
def test_golden_record_prefers_trusted_source() -> None:
    result = run(tables(people(30)))
    golden = {r["person_id"]: r for r in result.persons.to_pylist()}
    ids = mapping(result)
    assert golden[ids["crm:C3"]]["email"] == "user3@example.com"
    assert golden[ids["crm:C3"]]["records"] == 3


@pytest.mark.parametrize(
    "engine_url",
    [pytest.param("duckdb", marks=pytest.mark.unit), pytest.param("spark", marks=pytest.mark.integration)],
)
def test_core_cases_on_each_engine(request, tmp_path, engine_url) -> None:
    """One person per id, trusted values survive, a re-run with new records keeps every id and joins the
    new records to their people: the same outcome whichever engine resolves."""
    url = request.getfixturevalue("spark_url") if engine_url == "spark" else engine_url
    engine = open_offline_engine(url, LakeStorage(str(tmp_path / "lake")))
    try:
        persons = people(40)
        first = run(tables(persons), engine=engine)
        before = mapping(first)
        for k in range(40):
            assert before[f"crm:C{k}"] == before[f"orders:O{k}-0"] == before[f"orders:O{k}-1"]
        assert len(set(before.values())) == first.persons.num_rows == 40
        golden = {r["person_id"]: r for r in first.persons.to_pylist()}
        assert golden[before["crm:C3"]]["email"] == "user3@example.com"
        assert golden[before["crm:C3"]]["records"] == 3

        second = run(tables(persons + people(45)[40:], extra_orders=1), before, first.next_id, engine=engine)
        after = mapping(second)
        assert all(after[r] == p for r, p in before.items())  # no id changed
        assert after["orders:O0-2"] == before["crm:C0"]  # a new order of an existing person
        new_ids = {after[f"crm:C{k}"] for k in range(40, 45)}
        assert len(new_ids) == 5 and not new_ids & set(before.values())
        assert second.events == []
    finally:
        engine.close()
