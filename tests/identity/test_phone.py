"""Phone numbers: every writing the retail generator produces, landlines, foreign numbers, rejects."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zhongtai.identity.normalize.phone import normalize_phone, phone_kind
from zhongtai.scenarios.retail.noise import PHONE_FORMATS

pytestmark = pytest.mark.unit

MOBILE = "13812345678"


@pytest.mark.parametrize("style", sorted(set(PHONE_FORMATS) - {"typo"}))
def test_every_generator_style_folds_to_the_mobile(style: str) -> None:
    assert normalize_phone(PHONE_FORMATS[style](MOBILE, 12345)) == MOBILE


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("+86 138 1234 5678", MOBILE),
        ("0086-138-1234-5678", MOBILE),
        ("86 13812345678", MOBILE),
        ("８６－１３８－１２３４－５６７８", MOBILE),
        ("138.1234.5678", MOBILE),
        ("(+86) 138 1234 5678", MOBILE),
        ("013812345678", MOBILE),
        ("  13812345678\t", MOBILE),
        ("010-12345678", "010-12345678"),
        ("(010) 8765 4321", "010-87654321"),
        ("(0755) 8765 4321", "0755-87654321"),
        ("0755 87654321", "0755-87654321"),
        ("075587654321", "0755-87654321"),
        ("+86 21 6123 4567", "021-61234567"),
        ("+86 (0)21 6123 4567", "021-61234567"),
        ("0086 571 8888 6666", "0571-88886666"),
        ("021-61234567 ext 8001", "021-61234567"),
        ("021-61234567 转 8001", "021-61234567"),
        ("021-61234567分机：8001", "021-61234567"),
        ("021-61234567#8001", "021-61234567"),
        ("010-12345678-123", "010-12345678"),
        ("+1 (415) 555-2671", "+14155552671"),
        ("001-415-555-2671", "+14155552671"),
        ("+852 9123 4567", "+85291234567"),
        ("+886 912 345 678", "+886912345678"),
        ("+44 20 7946 0958", "+442079460958"),
    ],
)
def test_writings(written: str, canonical: str) -> None:
    assert normalize_phone(written) == canonical


@pytest.mark.parametrize(
    "written",
    [
        None,
        "",
        "   ",
        "n/a",
        "87654321",  # a local number without its area code
        "1381234567",  # ten digits
        "138123456789",  # twelve
        "12812345678",  # 12x is not a mobile prefix
        "1381234567.8",  # an amount
        "138.00",
        "13812345678/13987654321",  # two numbers
        "+0 123 4567",
        "+86 999",
        "SO20261031000123",
        "011-12345678",  # no such area code
    ],
)
def test_rejects(written: str | None) -> None:
    assert normalize_phone(written) is None


@pytest.mark.parametrize(
    ("written", "kind"),
    [
        ("+86 138 1234 5678", "mobile"),
        ("(0755) 8765 4321", "landline"),
        ("+1 415 555 2671", "foreign"),
        ("x", None),
    ],
)
def test_phone_kind(written: str, kind: str | None) -> None:
    assert phone_kind(written) == kind


PHONE_TEXT = st.text(alphabet="0123456789０１８+-()．. 转extx#", max_size=24)


@given(st.one_of(PHONE_TEXT, st.text(max_size=20)))
def test_normalize_is_idempotent(value: str) -> None:
    once = normalize_phone(value)
    assert normalize_phone(once) == once


@given(st.sampled_from(sorted(PHONE_FORMATS)), st.integers(3, 9), st.integers(0, 10**9 - 1))
def test_generator_formats_of_random_mobiles(style: str, second: int, rest: int) -> None:
    number = f"1{second}{rest:09d}"
    written = PHONE_FORMATS[style](number, rest)
    if style == "typo":
        assert normalize_phone(written) != number
    else:
        assert normalize_phone(written) == number
