"""PII detection on realistic retail columns, on decoys that must stay unflagged, and on its pieces."""

from __future__ import annotations

import numpy as np
import pytest

from zhongtai.catalog.pii import detect_pii, is_bank_card, name_hint
from zhongtai.govern.recognizers import luhn_valid
from zhongtai.identity.normalize.id_card import check_character
from zhongtai.scenarios.retail.crm import CRM_ADDRESSES, CRM_EMAILS, CRM_IDS, CRM_NAMES, CRM_PHONES
from zhongtai.scenarios.retail.erp import STORE_NAMES
from zhongtai.scenarios.retail.noise import (
    render_addresses,
    render_emails,
    render_ids,
    render_names,
    render_phones,
)
from zhongtai.scenarios.retail.people import make_people

pytestmark = pytest.mark.unit

RNG_SEED = 11


@pytest.fixture(scope="module")
def columns() -> dict[str, list[str | None]]:
    """Columns as the retail systems write them, plus cards and decoys."""
    rng = np.random.default_rng(RNG_SEED)
    people = make_people(rng, 600, 700, 2026)
    persons = rng.integers(0, people.n, 600)
    days = rng.integers(0, 700, 600)
    return {
        "mobile": render_phones(people.phone[persons], CRM_PHONES, rng, missing=0.05),
        "email": render_emails(np.array(people.email, dtype=object)[persons], CRM_EMAILS, rng),
        "id_number": render_ids(people.id_number[persons], CRM_IDS, rng, missing=0.5),
        "full_name": render_names(people, persons, CRM_NAMES, rng),
        "store_customer": render_names(people, persons, STORE_NAMES, rng),
        "address": render_addresses(people, persons, days, CRM_ADDRESSES, rng, missing=0.1),
        "card_no": [card_number(rng) for _ in range(300)],
        "order_id": [str(100_000_001 + k * 3) for k in range(500)],
        "order_no": [f"SO20261031{k:06d}" for k in range(500)],
        "sku": [f"SKU-{k:06d}" for k in range(500)],
        "amount": [f"{x:.2f}" for x in rng.uniform(1, 5000, 500)],
        "member_id": [f"{886_000_000_000 + k * 7:012d}" for k in range(500)],
        "barcode": [ean13(rng) for _ in range(500)],
        "event_ms": [str(1_730_390_400_000 + k * 977) for k in range(500)],
        "trace_id": [str(x) for x in rng.integers(10**15, 10**16, 500)],
        "status": ["active", "closed"] * 250,
        "product_name": ["无线蓝牙耳机", "纯棉T恤", "保温杯", "Running Shoes"] * 100,
    }


def card_number(rng: np.random.Generator) -> str:
    """A 16-digit UnionPay-style number (62...) with a Luhn check digit."""
    body = "62" + "".join(str(d) for d in rng.integers(0, 10, 13))
    check = next(d for d in "0123456789" if luhn_valid(body + d))
    return body + check


def ean13(rng: np.random.Generator) -> str:
    body = "69" + "".join(str(d) for d in rng.integers(0, 10, 10))
    total = sum(int(d) * (3 if k % 2 else 1) for k, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


@pytest.mark.parametrize(
    ("field", "values", "expected"),
    [
        ("mobile", "mobile", "phone"),
        ("email", "email", "email"),
        ("id_number", "id_number", "id_card"),
        ("full_name", "full_name", "name"),
        ("address", "address", "address"),
        ("card_no", "card_no", "bank_card"),
        # Values beat the name: a neutral or misleading name still gets the class its values prove.
        ("contact", "mobile", "phone"),
        ("col_7", "email", "email"),
        ("remark", "id_number", "id_card"),
        ("field_3", "card_no", "bank_card"),
        ("phone", "email", "email"),
        # Chinese field names.
        ("手机号", "mobile", "phone"),
        ("身份证号码", "id_number", "id_card"),
        ("收货人姓名", "store_customer", "name"),
        ("收货地址", "address", "address"),
    ],
)
def test_realistic_columns(columns, field: str, values: str, expected: str) -> None:
    guess = detect_pii(field, columns[values])
    assert guess.pii_class == expected, guess
    assert 0 < guess.confidence <= 1


@pytest.mark.parametrize(
    "decoy",
    [
        "order_id",
        "order_no",
        "sku",
        "amount",
        "member_id",
        "barcode",
        "event_ms",
        "trace_id",
        "status",
        "product_name",
    ],
)
def test_decoys_are_not_pii(columns, decoy: str) -> None:
    guess = detect_pii(decoy, columns[decoy])
    assert guess.pii_class is None, guess


@pytest.mark.parametrize("decoy", ["order_id", "amount", "barcode", "event_ms", "trace_id", "member_id"])
def test_numeric_decoys_are_never_phone_or_bank_card_whatever_the_name(columns, decoy: str) -> None:
    assert detect_pii("value", columns[decoy]).pii_class not in {"phone", "bank_card"}


def test_value_evidence_is_reported(columns) -> None:
    guess = detect_pii("mobile", columns["mobile"])
    assert guess.share > 0.95  # typos (mistyped digits) still look like numbers; nothing else fails
    assert guess.sampled == sum(v is not None for v in columns["mobile"])
    assert guess.name_hint == "phone"
    assert "field name 'mobile' agrees" in guess.evidence


def test_a_hint_whose_values_do_not_validate_is_not_trusted() -> None:
    guess = detect_pii("phone_verified", ["true", "false"] * 50)
    assert guess.pii_class is None
    assert "field name suggests phone" in guess.evidence


def test_a_hint_alone_decides_an_empty_column() -> None:
    assert detect_pii("email", [None, "", "  "]).pii_class == "email"
    assert detect_pii("comment", []).pii_class is None


def test_sample_size_bounds_the_work(columns) -> None:
    guess = detect_pii("mobile", columns["mobile"] * 20, sample_size=100)
    assert (guess.pii_class, guess.sampled) == ("phone", 100)


@pytest.mark.parametrize(
    ("field", "hint"),
    [
        ("mobile", "phone"),
        ("contactPhone", "phone"),
        ("tel", "phone"),
        ("hotel_name", "name"),
        ("联系电话", "phone"),
        ("customer_email", "email"),
        ("邮箱", "email"),
        ("id_card_no", "id_card"),
        ("身份证", "id_card"),
        ("bank_card", "bank_card"),
        ("银行卡号", "bank_card"),
        ("full_name", "name"),
        ("姓名", "name"),
        ("product_name", None),
        ("store_name", None),
        ("ship_addr", "address"),
        ("地址", "address"),
        ("order_id", None),
        ("amount", None),
    ],
)
def test_name_hints(field: str, hint: str | None) -> None:
    assert name_hint(field) == hint


def test_bank_card_excludes_valid_id_numbers_and_phones() -> None:
    assert is_bank_card("6222 0212 3456 7897") == luhn_valid("6222021234567897")
    assert luhn_valid("4111111111111111") and is_bank_card("4111-1111-1111-1111")
    bodies = (f"44030519900101{k:03d}" for k in range(1000))
    number = next(n for n in (b + check_character(b) for b in bodies) if luhn_valid(n))
    assert not is_bank_card(number)  # an ID number that happens to pass Luhn is still an ID number
    assert not is_bank_card("13812345678")
    assert not is_bank_card("1234567812345670")  # first digit 1: no card network
