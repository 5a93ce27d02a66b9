"""Resident ID numbers: check character, birth date, gender, 15-digit upgrade, the generator's writings."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zhongtai.identity.normalize.id_card import (
    IdCard,
    check_character,
    normalize_id_card,
    parse_id_card,
)
from zhongtai.scenarios.retail.noise import ID_FORMATS
from zhongtai.scenarios.retail.places import BIRTHPLACE_CODES

pytestmark = pytest.mark.unit

VALID = "11010519491231002X"  # the GB 11643 example


def make_id(region: str, born: date, sequence: int) -> str:
    body = f"{region}{born:%Y%m%d}{sequence:03d}"
    return body + check_character(body)


def test_the_standard_example() -> None:
    assert parse_id_card(VALID) == IdCard(VALID, date(1949, 12, 31), "F", "110105")


@pytest.mark.parametrize("style", sorted(set(ID_FORMATS) - {"typo"}))
def test_generator_styles_fold_back(style: str) -> None:
    assert normalize_id_card(ID_FORMATS[style](VALID, 7)) == VALID


@pytest.mark.parametrize("salt", range(40))
def test_generator_typos_fail_the_check(salt: int) -> None:
    assert normalize_id_card(ID_FORMATS["typo"](VALID, salt)) is None


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("11010519491231002x", VALID),
        ("１１０１０５１９４９１２３１００２Ｘ", VALID),
        ("110105-19491231-002X", VALID),
        ("110105491231002", VALID),  # 15 digits: '19' inserted, check character computed
    ],
)
def test_writings(written: str, canonical: str) -> None:
    assert normalize_id_card(written) == canonical


@pytest.mark.parametrize(
    "written",
    [
        None,
        "",
        "11010519491231002",  # 17 characters
        "110105194912310021",  # wrong check character
        make_id("110105", date(1949, 12, 31), 2)[:-1] + "Y",
        make_id("990105", date(1990, 1, 1), 2),  # no province 99
        make_id("010105", date(1990, 1, 1), 2),
        "110105199002300011",  # 30 February (check character aside)
        "X10105194912310021",
    ],
)
def test_rejects(written: str | None) -> None:
    assert normalize_id_card(written) is None


def test_impossible_dates_fail_even_with_a_right_check_character() -> None:
    body = "11010519900230001"
    assert parse_id_card(body + check_character(body)) is None
    body = "11010518991231001"  # born before 1900
    assert parse_id_card(body + check_character(body)) is None


def test_a_birth_date_in_the_future_fails() -> None:
    number = make_id("110105", date(2030, 1, 1), 1)
    assert parse_id_card(number, today=date(2026, 10, 31)) is None
    assert parse_id_card(number, today=date(2031, 1, 1)) is not None


ID_PARTS = st.tuples(
    st.sampled_from(BIRTHPLACE_CODES),
    st.dates(min_value=date(1900, 1, 1), max_value=date(2020, 12, 31)),
    st.integers(0, 999),
)


@given(ID_PARTS)
def test_a_valid_number_round_trips_birth_date_and_gender(parts: tuple[str, date, int]) -> None:
    region, born, sequence = parts
    card = parse_id_card(make_id(region, born, sequence))
    assert card is not None
    assert (card.birth_date, card.gender, card.region_code) == (born, "M" if sequence % 2 else "F", region)


@given(ID_PARTS, st.integers(0, 16), st.integers(1, 9))
def test_a_corrupted_digit_fails_the_check(parts: tuple[str, date, int], position: int, shift: int) -> None:
    number = make_id(*parts)
    digit = str((int(number[position]) + shift) % 10)
    assert parse_id_card(number[:position] + digit + number[position + 1 :]) is None


@given(ID_PARTS)
def test_fifteen_digit_numbers_upgrade(parts: tuple[str, date, int]) -> None:
    region, born, sequence = parts
    born = born if born.year < 2000 else born - timedelta(days=366 * 40)
    legacy = f"{region}{born:%y%m%d}{sequence:03d}"
    assert normalize_id_card(legacy) == make_id(region, born, sequence)


@given(st.one_of(st.text(alphabet="0123456789xX -", max_size=20), st.text(max_size=20)))
def test_normalize_is_idempotent(value: str) -> None:
    once = normalize_id_card(value)
    assert normalize_id_card(once) == once
