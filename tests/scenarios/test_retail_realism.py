"""The generated retailer must be realistic enough for OneID, churn, recommendation, intent and forecasting
work: these checks read what was written (SQLite files, JSON lines, CSV, truth) and can fail."""

from __future__ import annotations

import json
import re
import sqlite3
import unicodedata
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from zhongtai.scenarios.retail import DEFAULT_TODAY, generate
from zhongtai.scenarios.retail.service_text import INTENTS

pytestmark = pytest.mark.unit

PHONE_FORMATS = {
    "plain": r"^1\d{10}$",
    "+86 spaced": r"^\+86 1\d{2} \d{4} \d{4}$",
    "+86 compact": r"^\+861\d{10}$",
    "0086 dashed": r"^0086-1\d{2}-\d{4}-\d{4}$",
    "dashed": r"^1\d{2}-\d{4}-\d{4}$",
    "spaced": r"^1\d{2} \d{4} \d{4}$",
    "full-width": r"^[０-９]{11}$",
}
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
SYSTEM_OF = {
    "crm_customers": "crm",
    "crm_loyalty_members": "crm",
    "erp_orders": "erp",
    "click_users": "clickstream",
    "click_devices": "clickstream",
    "service_tickets": "service",
}


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("retail")
    generate(folder, 2000, seed=11)
    return folder


def query(out: Path, system: str, sql: str) -> list[tuple]:
    with sqlite3.connect(out / "systems" / f"{system}.db") as conn:
        return conn.execute(sql).fetchall()


def truth(out: Path, name: str) -> dict[str, list]:
    return pq.read_table(out / "truth" / f"{name}.parquet").to_pydict()


def owners(out: Path, dataset: str) -> dict[str, str]:
    table = truth(out, "record_person")
    return {
        r: p
        for d, r, p in zip(table["dataset"], table["record_id"], table["person_id"], strict=True)
        if d == dataset
    }


def tickets(out: Path) -> list[dict]:
    lines = (out / "systems" / "service" / "tickets.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def events(out: Path) -> list[dict]:
    found = []
    for path in sorted((out / "systems" / "clickstream").glob("events-*.jsonl")):
        found.extend(json.loads(line) for line in path.read_text(encoding="utf-8").splitlines())
    return found


def stock(out: Path) -> pa.Table:
    return pa.concat_tables(
        pacsv.read_csv(p) for p in sorted((out / "systems" / "inventory").glob("stock-*.csv"))
    )


def phones(out: Path) -> list[str]:
    found = [
        r[0]
        for r in query(
            out, "crm", "select mobile from customers union all select mobile from loyalty_members"
        )
    ]
    found += [r[0] for r in query(out, "erp", "select buyer_phone from orders")]
    found += [t["contact_phone"] for t in tickets(out)]
    return [p for p in found if p]


def digits(phone: str) -> str:
    """A phone number reduced to its 11 mainland digits, whatever way it was written."""
    plain = re.sub(r"\D", "", unicodedata.normalize("NFKC", phone))
    return plain[-11:]


def valid_id(number: str) -> bool:
    """GB 11643: 17 digits, then the check character of their weighted sum mod 11."""
    if not re.fullmatch(r"\d{17}[\dX]", number):
        return False
    total = sum(int(d) * w for d, w in zip(number[:17], ID_WEIGHTS, strict=True))
    return "10X98765432"[total % 11] == number[17]


def auc(score: np.ndarray, positive: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney, ties averaged)."""
    order = np.argsort(score, kind="mergesort")
    ranks = np.empty(len(score))
    ranks[order] = np.arange(1, len(score) + 1)
    _, inverse = np.unique(score, return_inverse=True)
    ranks = (np.bincount(inverse, ranks) / np.bincount(inverse))[inverse]
    hits, misses = positive.sum(), (~positive).sum()
    return float((ranks[positive].sum() - hits * (hits + 1) / 2) / (hits * misses))


def test_phones_come_in_every_format(out: Path) -> None:
    written = phones(out)
    for name, pattern in PHONE_FORMATS.items():
        assert sum(bool(re.match(pattern, p)) for p in written) >= 5, name


def test_full_width_characters_and_latin_names_appear(out: Path) -> None:
    rows = query(out, "crm", "select full_name, mobile, email, address from customers")
    values = [v for row in rows for v in row if v] + phones(out)
    assert sum(any("\uff01" <= c <= "\uff5e" for c in v) for v in values) >= 20
    names = [r[0] for r in rows if r[0]]
    latin = [n for n in names if re.fullmatch(r"[A-Za-z.,' \u00c0-\u017f]+", n)]
    chinese = [n for n in names if re.search(r"[\u4e00-\u9fff]", n)]
    assert len(chinese) > 0.7 * len(names)
    assert len(latin) > 0.05 * len(names)


def test_emails_are_missing_or_changed_for_some(out: Path) -> None:
    emails = [r[0] for r in query(out, "crm", "select email from customers")]
    missing = sum(e is None for e in emails) / len(emails)
    assert 0.2 < missing < 0.8
    assert any(e and e != e.lower() for e in emails)


def test_the_same_person_is_in_several_systems(out: Path) -> None:
    table = truth(out, "record_person")
    systems = defaultdict(set)
    for dataset, person in zip(table["dataset"], table["person_id"], strict=True):
        systems[person].add(SYSTEM_OF[dataset])
    in_three = sum(len(s) >= 3 for s in systems.values())
    assert in_three > 0.1 * len(systems)
    repeated = defaultdict(int)
    for person in owners(out, "crm_customers").values():
        repeated[person] += 1
    assert any(count > 1 for count in repeated.values()), "some people registered twice in the CRM"


def test_family_members_share_a_phone(out: Path) -> None:
    customer_owner = owners(out, "crm_customers")
    member_owner = owners(out, "crm_loyalty_members")
    persons_by_phone = defaultdict(set)
    for customer_id, phone in query(
        out, "crm", "select customer_id, mobile from customers where mobile is not null"
    ):
        persons_by_phone[digits(phone)].add(customer_owner[str(customer_id)])
    for member_id, phone in query(
        out, "crm", "select member_id, mobile from loyalty_members where mobile is not null"
    ):
        persons_by_phone[digits(phone)].add(member_owner[member_id])
    assert sum(len(p) > 1 for p in persons_by_phone.values()) >= 10


def test_homophone_spouses_are_two_persons_on_one_phone(out: Path) -> None:
    """蒋伟 and 姜伟: a household's two people whose names read the same, with one family phone."""
    people = truth(out, "persons")
    by_household = defaultdict(list)
    for person, household, name, latin in zip(
        people["person_id"], people["household_id"], people["name"], people["name_latin"], strict=True
    ):
        by_household[household].append((person, name, latin))
    pairs = {
        frozenset((a[0], b[0]))
        for members in by_household.values()
        for a in members
        for b in members
        if a[0] < b[0] and a[2] == b[2] and a[1] != b[1] and a[1][1:] == b[1][1:]
    }
    assert len(pairs) >= 5
    customer_owner = owners(out, "crm_customers")
    on_phone = defaultdict(set)
    for customer_id, phone in query(
        out, "crm", "select customer_id, mobile from customers where mobile is not null"
    ):
        on_phone[digits(phone)].add(customer_owner[str(customer_id)])
    assert any(pair <= persons for pair in pairs for persons in on_phone.values())


def test_id_numbers_have_valid_check_digits(out: Path) -> None:
    people = truth(out, "persons")
    for number, born in zip(people["id_number"], people["birth_date"], strict=True):
        if number:
            assert valid_id(number), number
            assert number[6:14] == born.strftime("%Y%m%d")
    written = [
        r[0]
        for r in query(
            out,
            "crm",
            "select id_number from customers where id_number is not null "
            "union all select id_number from loyalty_members where id_number is not null",
        )
    ]
    cleaned = [n.replace(" ", "").upper() for n in written]
    valid = sum(valid_id(n) for n in cleaned)
    assert len(written) > 200
    assert 0.9 < valid / len(cleaned) < 1.0, "mostly valid, with a few typos"


def test_people_moved_and_changed_phones(out: Path) -> None:
    people = truth(out, "persons")
    assert 0.05 < sum(m is not None for m in people["moved_on"]) / len(people["moved_on"]) < 0.25
    assert any(p is not None for p in people["new_phone"])


def _orders_by_person(out: Path) -> dict[str, list[date]]:
    owner = owners(out, "erp_orders")
    found = defaultdict(list)
    for order_id, ordered_at in query(out, "erp", "select order_id, ordered_at from orders"):
        found[owner[str(order_id)]].append(date.fromisoformat(ordered_at[:10]))
    return found


def test_recency_predicts_who_stops_buying(out: Path) -> None:
    cutoff = DEFAULT_TODAY - timedelta(days=90)
    recency, stopped = [], []
    for days in _orders_by_person(out).values():
        before = [d for d in days if d < cutoff]
        if before:
            recency.append((cutoff - max(before)).days)
            stopped.append(not any(d >= cutoff for d in days))
    assert auc(np.array(recency, dtype=float), np.array(stopped)) > 0.65


def test_churned_people_stop_buying_and_complain_more(out: Path) -> None:
    people = truth(out, "persons")
    churned = dict(zip(people["person_id"], people["churned"], strict=True))
    cutoff = DEFAULT_TODAY - timedelta(days=90)
    recent = defaultdict(int)
    for person, days in _orders_by_person(out).items():
        recent[person] = sum(d >= cutoff for d in days)
    late = {flag: np.mean([recent[p] for p, c in churned.items() if c == flag]) for flag in (True, False)}
    assert late[True] < 0.3 * late[False]
    labels = truth(out, "ticket_intents")
    intents = dict(zip(labels["ticket_id"], labels["intent"], strict=True))
    owner = owners(out, "service_tickets")
    complaints = defaultdict(int)
    for ticket_id, intent in intents.items():
        if intent == "complaint":
            complaints[owner[ticket_id]] += 1
    rate = {flag: np.mean([complaints[p] for p, c in churned.items() if c == flag]) for flag in (True, False)}
    assert rate[True] > 1.5 * rate[False]


def test_tickets_are_chinese_and_english_with_every_intent(out: Path) -> None:
    written = tickets(out)
    assert all("intent" not in t for t in written)
    texts = [t["text"] for t in written]
    assert sum(bool(re.search(r"[\u4e00-\u9fff]", t)) for t in texts) > 0.5 * len(texts)
    assert sum(not re.search(r"[\u4e00-\u9fff]", t) for t in texts) > 0.03 * len(texts)
    labels = truth(out, "ticket_intents")
    assert set(labels["intent"]) == set(INTENTS)
    assert set(labels["language"]) == {"zh", "en"}
    assert sorted(labels["ticket_id"]) == sorted(t["ticket_id"] for t in written)
    assert 0.2 < len(written) / 2000 < 0.6


def test_clicks_lead_from_views_to_carts_to_purchases(out: Path) -> None:
    found = events(out)
    kinds = defaultdict(int)
    viewed = set()
    for event in found:
        kinds[event["event_type"]] += 1
        if event["event_type"] == "view":
            viewed.add((event["session_id"], event["product_id"]))
    assert kinds["view"] > kinds["cart"] > kinds["purchase"] > 0 and kinds["click"] > 0
    purchases = [(e["session_id"], e["product_id"]) for e in found if e["event_type"] == "purchase"]
    assert all(p in viewed for p in purchases)
    assert any(e["user_id"] is None for e in found) and any(e["user_id"] for e in found)
    assert [e["ts"] for e in found] == sorted(e["ts"] for e in found)


def test_inventory_has_stockouts_and_a_double_11_lift(out: Path) -> None:
    table = stock(out)
    days = np.array(table.column("date").to_pylist(), dtype="datetime64[D]")
    sold = table.column("sold").to_numpy()
    assert 0.005 < table.column("stockout").to_numpy().mean() < 0.2

    def mean_sold(first: str, last: str) -> float:
        return float(sold[(days >= np.datetime64(first)) & (days <= np.datetime64(last))].mean())

    assert mean_sold("2025-11-05", "2025-11-11") > 1.2 * mean_sold("2026-09-07", "2026-09-13")
    weekday = (days.astype(np.int64) + 3) % 7
    assert sold[weekday >= 5].mean() > sold[weekday < 5].mean()


def test_every_reference_resolves(out: Path) -> None:
    orders = {r[0] for r in query(out, "erp", "select order_id from orders")}
    products = {r[0] for r in query(out, "erp", "select product_id from products")}
    stores = {r[0] for r in query(out, "erp", "select store_id from stores")}
    lines = query(out, "erp", "select order_id, product_id from order_lines")
    assert {o for o, _ in lines} == orders
    assert {p for _, p in lines} <= products
    assert {r[0] for r in query(out, "erp", "select store_id from orders")} <= stores
    customers = {r[0] for r in query(out, "crm", "select customer_id from customers")}
    links = {
        r[0]
        for r in query(out, "crm", "select customer_id from loyalty_members where customer_id is not null")
    }
    assert links <= customers
    table = stock(out)
    assert set(table.column("product_id").to_pylist()) <= products
    assert set(table.column("store_id").to_pylist()) <= stores
    assert {e["product_id"] for e in events(out)} <= products


def test_every_customer_record_is_in_the_truth(out: Path) -> None:
    expected = {
        "crm_customers": {str(r[0]) for r in query(out, "crm", "select customer_id from customers")},
        "crm_loyalty_members": {r[0] for r in query(out, "crm", "select member_id from loyalty_members")},
        "erp_orders": {str(r[0]) for r in query(out, "erp", "select order_id from orders")},
        "service_tickets": {t["ticket_id"] for t in tickets(out)},
        "click_users": {e["user_id"] for e in events(out) if e["user_id"]},
        "click_devices": {e["device_id"] for e in events(out)},
    }
    for dataset, records in expected.items():
        assert set(owners(out, dataset)) == records, dataset
