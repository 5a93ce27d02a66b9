"""Masking by role: one mask per class, vectorised over Arrow, tokens and ciphertexts untouched, and the
verdicts of the policy engine deciding who sees what."""

from __future__ import annotations

import pyarrow as pa
import pytest

from zhongtai.govern.masking import (
    EVERYTHING,
    NOTHING,
    Disclosure,
    disclosure,
    mask_array,
    mask_batch,
    mask_json,
    mask_record,
    mask_table,
    mask_text,
    mask_value,
)
from zhongtai.govern.policy import PolicyEngine
from zhongtai.govern.principal import Principal
from zhongtai.scenarios.retail.project import policy_document
from zhongtai.spec.policy import PolicySpec

pytestmark = pytest.mark.unit

TEXT = "用手机号+86 135 1234 9035注册的，订单SO20240101000123，身份证11010519491231002X"
CASES = [
    ("phone", "13812345678", "138****5678"),
    ("phone", "+86 138-1234-5678", "138****5678"),
    ("phone", "１３８１２３４５６７８", "138****5678"),
    ("phone", "010-12345678", "010****5678"),
    ("phone", "12345", "****"),
    ("id_card", "11010519491231002X", "1101**********002X"),
    ("email", "Li.Min@qq.com", "L***@qq.com"),
    ("email", "not an address", "***"),
    ("name", "张伟", "张*"),
    ("name", "欧阳娜娜", "欧*"),
    ("address", "北京市朝阳区建国路88号", "北京市朝阳区****"),
    ("address", "北京", "****"),
    ("bank_card", "6222 0212 3456 7890 128", "****0128"),
]


@pytest.mark.parametrize(("pii", "value", "masked"), CASES)
def test_each_class_has_its_mask_in_python_and_in_arrow(pii: str, value: str, masked: str) -> None:
    assert mask_value(value, pii) == masked
    assert mask_array(pa.array([value, None]), pii).to_pylist() == [masked, None]


def test_a_mask_hides_the_length_and_every_hidden_character() -> None:
    # The stars are fixed: a value's length or hidden digits never show.
    assert mask_value("13812345678", "phone") == mask_value("13899995678", "phone")
    assert mask_value("张伟", "name") == mask_value("张伟明", "name")
    assert mask_value("a@x.com", "email") == mask_value("alexander@x.com", "email")


def test_tokens_and_ciphertexts_are_not_clear_values_and_pass_unchanged() -> None:
    token = "phone:" + "a" * 26
    cipher = "enc:1a2b3c4d:AAAA"
    assert mask_array(pa.array([token, cipher, "13812345678"]), "phone").to_pylist() == [
        token,
        cipher,
        "138****5678",
    ]
    assert mask_record({"mobile": token}, {"mobile": "phone"}, NOTHING) == {"mobile": token}


def test_free_text_masks_each_span_unless_its_class_is_seen() -> None:
    assert mask_text(TEXT, NOTHING) == (
        "用手机号135****9035注册的，订单SO20240101000123，身份证1101**********002X"
    )
    phones_only = Disclosure(frozenset({"phone"}))
    assert mask_text(TEXT, phones_only).startswith("用手机号+86 135 1234 9035注册的")
    assert "1101**********002X" in mask_text(TEXT, phones_only)
    assert mask_text(TEXT, EVERYTHING) == TEXT
    text = pa.array([TEXT, "订单SO20240101000123", None])
    assert mask_array(text, "text:id_card,phone").to_pylist() == [
        mask_text(TEXT, NOTHING),
        "订单SO20240101000123",
        None,
    ]


def test_a_table_is_masked_by_its_field_classes_and_the_disclosure() -> None:
    table = pa.table({"mobile": ["13812345678"], "full_name": ["张伟"], "city": ["北京"], "amount": [12.5]})
    classes = {"mobile": "phone", "full_name": "name"}
    assert mask_table(table, classes, NOTHING).to_pylist() == [
        {"mobile": "138****5678", "full_name": "张*", "city": "北京", "amount": 12.5}
    ]
    names_seen = Disclosure(frozenset({"name"}))
    assert mask_table(table, classes, names_seen).to_pylist()[0]["full_name"] == "张伟"
    assert mask_table(table, classes, EVERYTHING) is table


def test_json_values_mask_strings_and_long_integers_keeping_structure() -> None:
    value = {"note": "call 13812345678", "tel": 13812345678, "score": 0.5, "n": 3, "ok": True}
    assert mask_json(value, NOTHING) == {
        "note": "call 138****5678",
        "tel": "138****5678",
        "score": 0.5,
        "n": 3,
        "ok": True,
    }
    assert mask_json(value, EVERYTHING) == value


def test_the_retail_policy_masks_phones_for_an_analyst_and_not_for_a_steward() -> None:
    engine = PolicyEngine([PolicySpec.model_validate(policy_document())])
    analyst = disclosure(engine, Principal("ana", ("analyst",)), "crm_customers")
    steward = disclosure(engine, Principal("ste", ("steward",)), "crm_customers")
    assert not analyst.sees("phone") and analyst.masks_any
    assert steward.sees("phone") and not steward.masks_any
    # The CRM wall denies see_pii to other departments whatever their roles.
    walled = disclosure(engine, Principal("mkt", ("steward",), workspace="marketing"), "crm_customers")
    assert walled == NOTHING


def test_a_batch_is_masked_column_by_column_even_when_empty() -> None:
    schema = pa.schema([("mobile", pa.int64()), ("amount", pa.float64())])
    empty = mask_batch(pa.RecordBatch.from_pylist([], schema=schema), {"mobile": "phone"}, NOTHING)
    assert empty.num_rows == 0 and empty.schema.field("mobile").type == pa.string()
    batch = pa.RecordBatch.from_pylist([{"mobile": 13812345678, "amount": 1.5}], schema=schema)
    assert mask_batch(batch, {"mobile": "phone"}, NOTHING).to_pylist() == [
        {"mobile": "138****5678", "amount": 1.5}
    ]
    assert mask_batch(batch, {"mobile": "none"}, NOTHING).to_pylist()[0]["mobile"] == 13812345678
