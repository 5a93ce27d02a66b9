"""Recognizers: PII written in free text is found in its common writings, and near misses are not."""

from __future__ import annotations

import pytest

from zhongtai.govern.recognizers import find_spans, is_bank_card, kinds_in, luhn_valid

pytestmark = pytest.mark.unit


def _found(text: str) -> list[tuple[str, str]]:
    return [(s.kind, text[s.start : s.end]) for s in find_spans(text)]


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("用手机号13512349035注册的", "phone", "13512349035"),
        ("电话 +86 138 1234 5678 谢谢", "phone", "+86 138 1234 5678"),
        ("call 0086-138-1234-5678 pls", "phone", "0086-138-1234-5678"),
        ("号码（+86）13812345678", "phone", "（+86）13812345678"),
        ("8613812345678", "phone", "8613812345678"),
        ("手机１３８１２３４５６７８", "phone", "１３８１２３４５６７８"),
        ("收件人电话填错了，改成138-1234-5678。", "phone", "138-1234-5678"),
        ("座机010-12345678转8001", "landline", "010-12345678"),
        ("门店电话(0755) 8765 4321", "landline", "(0755) 8765 4321"),
        ("office +86 21 6123 4567", "landline", "+86 21 6123 4567"),
        ("身份证11010519491231002X号", "id_card", "11010519491231002X"),
        ("ID 110105 19491231 002x", "id_card", "110105 19491231 002x"),
        ("卡号 6222 0212 3456 7890 128 请退到这张卡", "bank_card", "6222 0212 3456 7890 128"),
        ("visa 4111111111111111.", "bank_card", "4111111111111111"),
        ("邮箱 Li.Min@QQ.com 谢谢", "email", "Li.Min@QQ.com"),
        ("邮箱li_min＠163.com谢谢", "email", "li_min＠163.com"),
    ],
)
def test_each_kind_is_found_in_its_writings(text: str, kind: str, value: str) -> None:
    assert _found(text) == [(kind, value)]


@pytest.mark.parametrize(
    "text",
    [
        "订单SO20240101000123还没到",  # an order number: digits glued to letters
        "order 2024010100012345 shipped",  # 16 digits, no card network starts 2024
        "金额13812345678.50元",  # an amount, however phone-like its integer part
        "共13812345678.5元",
        "时间2024-01-15 10:30:00，单号20240115103000",  # timestamps
        "ts=1733456789012",  # epoch milliseconds
        "12812345678",  # 12 is no mobile prefix
        "1381234567",  # ten digits
        "138123456789",  # twelve digits
        "u13812345678",  # a login
        "身份证11010519491231002Y",  # wrong check character
        "11010519491231002X1",  # an ID number inside a longer run
        "110105194913310021",  # 13th month (and its check character fits)
        "4111111111111112",  # fails Luhn
        "1234 5678 9012 3456",  # no card network
        "会员卡000000012345查不到积分",  # a loyalty card number
        "退款320元，等了5天",
        "021-12",
        "li.min at qq dot com",
    ],
)
def test_near_misses_are_not_pii(text: str) -> None:
    assert _found(text) == []


def test_spans_do_not_overlap_and_the_longer_wins() -> None:
    text = "mail 13812345678@163.com or call 13812345678"
    assert _found(text) == [("email", "13812345678@163.com"), ("phone", "13812345678")]
    assert kinds_in("ID 11010519491231002X, 手机13900001111", ["phone"]) == {"phone"}


def test_an_id_number_that_passes_luhn_is_an_id_number() -> None:
    # A Gansu (62...) ID number looks like a UnionPay card; its check character decides.
    body = "62010219900101123"
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    number = body + "10X98765432"[sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11]
    assert not is_bank_card(number)
    assert _found(f"证件{number}") == [("id_card", number)]


def test_luhn() -> None:
    assert luhn_valid("79927398713") and not luhn_valid("79927398710") and not luhn_valid("7992x")


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("统一社会信用代码：91110108551385082Q。", "uscc", "91110108551385082Q"),
        ("IBAN GB82 WEST 1234 5698 7654 32 please", "iban", "GB82 WEST 1234 5698 7654 32"),
        ("paid from DE89370400440532013000.", "iban", "DE89370400440532013000"),
        ("call me on +44 20 7183 8750 tomorrow", "intl_phone", "+44 20 7183 8750"),
        ("US office +1 650-253-0000", "intl_phone", "+1 650-253-0000"),
        ("护照号E12345678，下周出发", "passport", "E12345678"),
        ("passport no. EA1234567 expires soon", "passport", "EA1234567"),
    ],
)
def test_codes_accounts_international_phones_and_passports_are_found(
    text: str, kind: str, value: str
) -> None:
    assert _found(text) == [(kind, value)]


@pytest.mark.parametrize(
    "text",
    [
        "统一社会信用代码91110108551385082A",  # wrong check character
        "IBAN GB82 WEST 1234 5698 7654 33",  # fails mod 97
        "DE8937040044053201300",  # one character short for Germany
        "订单号G12345678已发货",  # a passport's shape without the word
        "E12345678",
        "+86 138 1234 5678",  # a mainland mobile is `phone`, not `intl_phone`
        "order SO20240101000123 amount 1299.00",
    ],
)
def test_near_misses_of_the_new_kinds_are_not_spans(text: str) -> None:
    assert not any(kind in {"uscc", "iban", "intl_phone", "passport"} for kind, _ in _found(text))
