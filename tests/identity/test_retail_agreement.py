"""On generated retail data, records of the same person agree on the normalized phone far more often
than on the raw one: the normalizers undo the systems' writing habits."""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from itertools import combinations
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from zhongtai.identity.normalize import normalize_phone_array
from zhongtai.scenarios.retail import generate

pytestmark = pytest.mark.unit

QUERIES = {
    ("crm", "crm_customers"): "SELECT customer_id, mobile FROM customers",
    ("crm", "crm_loyalty_members"): "SELECT member_id, mobile FROM loyalty_members",
    ("erp", "erp_orders"): "SELECT order_id, buyer_phone FROM orders",
}


@pytest.fixture(scope="module")
def phone_records(tmp_path_factory) -> pa.Table:
    """(person_id, raw phone) of every CRM and ERP record that carries a phone."""
    out: Path = tmp_path_factory.mktemp("retail")
    generate(out, 500)
    truth = pq.read_table(out / "truth" / "record_person.parquet").to_pydict()
    owners = dict(
        zip(zip(truth["dataset"], truth["record_id"], strict=True), truth["person_id"], strict=True)
    )
    person, raw = [], []
    for (system, dataset), query in QUERIES.items():
        with sqlite3.connect(out / "systems" / f"{system}.db") as db:
            for record_id, phone in db.execute(query):
                if phone is not None:
                    person.append(owners[(dataset, str(record_id))])
                    raw.append(phone)
    return pa.table({"person_id": person, "raw": raw})


def agreement(people: list[str], phones: list[str | None], per_person: int = 12) -> float:
    """Share of same-person record pairs whose phones are equal (None never equals anything)."""
    by_person: dict[str, list[str | None]] = defaultdict(list)
    for person, phone in zip(people, phones, strict=True):
        if len(by_person[person]) < per_person:
            by_person[person].append(phone)
    pairs = [(a, b) for values in by_person.values() for a, b in combinations(values, 2)]
    return sum(a is not None and a == b for a, b in pairs) / len(pairs)


def test_normalized_phones_agree_far_more_often(phone_records: pa.Table) -> None:
    people = phone_records["person_id"].to_pylist()
    raw = agreement(people, phone_records["raw"].to_pylist())
    normalized = agreement(people, normalize_phone_array(phone_records["raw"]).to_pylist())
    # Measured at 500 customers (seed 7): raw 0.49, normalized 0.89 (0.50 and 0.91 at 5,000). The rest are
    # real disagreements: a family member's phone, a changed number, a mistyped digit.
    assert normalized > raw + 0.3
    assert normalized > 0.8


def test_nearly_every_written_phone_normalizes(phone_records: pa.Table) -> None:
    normalized = normalize_phone_array(phone_records["raw"])
    assert normalized.null_count / len(normalized) < 0.02
