"""Redaction: spans become the tokens PII columns hold (lake) or their kind (logs); nothing else changes."""

from __future__ import annotations

import re

import pyarrow as pa
import pytest

from zhongtai.govern.keys import PiiKeys
from zhongtai.govern.recognizers import find_spans
from zhongtai.govern.redaction import redact_array, redact_text, redacted_kinds, scrub, scrub_text
from zhongtai.govern.tokens import tokenize

pytestmark = pytest.mark.unit

KEYS = PiiKeys.from_secret(b"unit test master secret 0123456789abcdef")
MOBILE_GREP = re.compile(r"(^|[^0-9])1[3-9][0-9]{9}([^0-9]|$)")
TEXT = "用手机号+86 135 1234 9035注册的，订单SO20240101000123，退款320元到卡6222021234567890128，座机010-12345678"


def test_redacted_spans_are_the_column_tokens_in_brackets() -> None:
    out = redact_text(TEXT, ["phone", "landline", "bank_card"], KEYS)
    phone, card = tokenize("13512349035", "phone", KEYS), tokenize("6222021234567890128", "bank_card", KEYS)
    landline = tokenize("010-12345678", "phone", KEYS)  # a landline joins a phone column's token
    assert out == f"用手机号[{phone}]注册的，订单SO20240101000123，退款320元到卡[{card}]，座机[{landline}]"
    assert find_spans(out) == [] and not MOBILE_GREP.search(out)


def test_only_the_declared_kinds_are_redacted() -> None:
    out = redact_text(TEXT, ["bank_card"], KEYS)
    assert "+86 135 1234 9035" in out and "6222021234567890128" not in out


def test_arrays_match_scalars_and_keep_nulls() -> None:
    values = pa.array(
        [TEXT, None, "没有号码", "", "li.min@qq.com", "手机１３８１２３４５６７８", "SO2024010100012"]
    )
    out = redact_array(values, ["phone", "email"], KEYS).to_pylist()
    assert out == [
        None if v is None else redact_text(v, ["phone", "email"], KEYS) for v in values.to_pylist()
    ]
    assert out[4] == f"[{tokenize('li.min@qq.com', 'email', KEYS)}]"
    assert out[5] == f"手机[{tokenize('13812345678', 'phone', KEYS)}]" and out[6] == "SO2024010100012"
    assert redact_array(pa.chunked_array([["nothing here"]]), ["phone"], KEYS).to_pylist() == ["nothing here"]


def test_scrub_keeps_keys_and_structure() -> None:
    context = {
        "customer": {"phone": "13912345678", "13800000000": "key kept", "notes": ["ID 11010519491231002X"]},
        "amount": 320.5,
        "order": "SO20240101000123",
        "mobile_as_number": 13912345678,
        "count": 3,
        "ok": True,
    }
    assert scrub(context) == {
        "customer": {"phone": "[phone]", "13800000000": "key kept", "notes": ["ID [id_card]"]},
        "amount": 320.5,
        "order": "SO20240101000123",
        "mobile_as_number": "[phone]",
        "count": 3,
        "ok": True,
    }
    assert scrub_text("mail me: a.b@qq.com") == "mail me: [email]"


def test_redacted_kinds_are_read_back_from_the_tokens() -> None:
    out = redact_text(TEXT, ["phone", "landline", "bank_card"], KEYS)
    assert redacted_kinds(out) == {"phone", "bank_card"} and redacted_kinds(TEXT) == set()


def test_codes_accounts_and_foreign_numbers_get_tokens_of_their_own_class() -> None:
    text = "代码91110108551385082Q，账户 GB82 WEST 1234 5698 7654 32，电话 +44 20 7183 8750，护照E12345678"
    kinds = ["uscc", "iban", "intl_phone", "passport"]
    redacted = redact_text(text, kinds, KEYS)
    assert re.findall(r"\[([a-z_]+):[a-z2-7]{26}\]", redacted) == ["uscc", "iban", "intl_phone", "passport"]
    # The same number written another way is the same token (E.164; codes without spaces, upper case).
    assert tokenize("+44 20 7183 8750", "intl_phone", KEYS) == tokenize("+442071838750", "intl_phone", KEYS)
    assert tokenize("gb82 west 1234 5698 7654 32", "iban", KEYS) == tokenize(
        "GB82WEST12345698765432", "iban", KEYS
    )
    assert scrub_text(text) == "代码[uscc]，账户 [iban]，电话 [intl_phone]，护照[passport]"
