from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from zhongtai.quality.transforms import clean_column

pytestmark = pytest.mark.unit


def _clean(values: list, transforms: list[str], duck_type: str = "VARCHAR") -> list:
    con = duckdb.connect()
    try:
        expr = clean_column("v", "v", duck_type, transforms).value
        rows = [(i, v) for i, v in enumerate(values)]
        con.execute(f"CREATE TABLE t (i INTEGER, v {duck_type})")
        con.executemany("INSERT INTO t VALUES (?, ?)", rows)
        return [row[0] for row in con.execute(f"SELECT {expr} FROM t ORDER BY i").fetchall()]
    finally:
        con.close()


def test_trim_removes_ascii_and_ideographic_blanks():
    assert _clean(["  a b \t", "\u3000王\u3000", None], ["trim"]) == ["a b", "王", None]


def test_halfwidth_turns_full_width_ascii_into_ascii():
    assert _clean(["ＡＢＣ１２３！", "a\u3000b"], ["halfwidth"]) == ["ABC123!", "a b"]


def test_case():
    assert _clean(["Ab"], ["lower"]) == ["ab"]
    assert _clean(["Ab"], ["upper"]) == ["AB"]


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("13800138000", "13800138000"),
        ("+86 138 0013 8000", "13800138000"),
        ("0086-138-0013-8000", "13800138000"),
        ("8613800138000", "13800138000"),
        ("（+86）１３８００１３８０００", "13800138000"),
        ("010-6552 9988", "01065529988"),  # a landline keeps its digits
        ("  ", None),
        (None, None),
    ],
)
def test_phone_normalizes_mainland_mobiles_to_11_digits(raw, clean):
    assert _clean([raw], ["phone"]) == [clean]


def test_phone_read_as_a_number_is_still_a_phone():
    assert _clean([8613800138000], ["phone"], "BIGINT") == ["13800138000"]


def test_email_is_trimmed_and_lowercased():
    assert _clean([" Li.Na@Example.COM ", "王＠example.com", ""], ["email"]) == [
        "li.na@example.com",
        "王@example.com",
        None,
    ]


def test_date_parses_common_formats_and_leaves_others_null():
    values = ["2024-03-07", "2024/3/7", "2024.03.07", "20240307", "2024年3月7日", "2024-03-07 10:11:12",
              "2024-03-07T10:11:12", "  ", "07/03/2024", "soon"]  # fmt: skip
    day = dt.date(2024, 3, 7)
    assert _clean(values, ["date"]) == [day] * 7 + [None, None, None]


def test_date_of_a_timestamp_column_is_its_day():
    assert _clean([dt.datetime(2024, 3, 7, 23, 59)], ["date"], "TIMESTAMP") == [dt.date(2024, 3, 7)]


def test_transforms_compose_in_the_order_given():
    assert _clean(["  ＡＣＴＩＶＥ "], ["halfwidth", "trim", "lower"]) == ["active"]
