"""Names: characters, pinyin in every order and case, traditional forms, titles, Latin names."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from zhongtai.identity.normalize.names import name_keys, normalize_name
from zhongtai.scenarios.retail.noise import name_formats
from zhongtai.scenarios.retail.people import FOREIGN, make_people

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "written",
    ["张三", "張三", "张 三", "Zhang San", "San Zhang", "ZHANG SAN", "zhangsan", "ＺＨＡＮＧ ＳＡＮ"],
)
def test_zhang_san_in_every_writing(written: str) -> None:
    keys = name_keys(written)
    assert keys is not None
    assert (keys.pinyin, keys.initials, keys.sorted_key) == ("zhangsan", "zs", "san zhang")


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("張 三", "张三"),
        ("陳　麗華", "陈丽华"),
        ("  John   SMITH ", "john smith"),
        ("Smith, John", "john smith"),
        ("José Müller", "jose muller"),
        ("O'Brien", "o'brien"),
        ("Ｗａｎｇ Ｘｉａｏｍｉｎｇ", "wang xiaoming"),
        ("123", None),
        ("", None),
        (None, None),
    ],
)
def test_normalize_name(written: str | None, canonical: str | None) -> None:
    assert normalize_name(written) == canonical


@pytest.mark.parametrize(
    ("written", "pinyin", "sorted_key"),
    [
        ("王小明", "wangxiaoming", "ming wang xiao"),
        ("Xiaoming Wang", "wangxiaoming", "ming wang xiao"),
        ("WANG Xiaoming", "wangxiaoming", "ming wang xiao"),
        ("wangxiaoming", "wangxiaoming", "ming wang xiao"),
        ("欧阳娜娜", "ouyangnana", "na na ou yang"),
        ("Nana Ouyang", "ouyangnana", "na na ou yang"),
        ("曾伟", "zengwei", "wei zeng"),  # the surname reading, not ceng
        ("吕伟", "luwei", "lu wei"),
        ("Lv Wei", "luwei", "lu wei"),
        ("Lyu Wei", "luwei", "lu wei"),
        ("Kevin Wang", "wangkevin", "kevin wang"),
        ("Smith, John", "smithjohn", "john smith"),
        ("John Smith", "johnsmith", "john smith"),
    ],
)
def test_name_keys(written: str, pinyin: str, sorted_key: str) -> None:
    keys = name_keys(written)
    assert keys is not None
    assert (keys.pinyin, keys.sorted_key) == (pinyin, sorted_key)


@pytest.mark.parametrize(
    ("written", "han", "pinyin", "title"),
    [("王先生", "王", "wang", "先生"), ("李女士", "李", "li", "女士"), ("Ms. Smith", None, "smith", "ms")],
)
def test_titles_leave_the_surname(written: str, han: str | None, pinyin: str, title: str) -> None:
    keys = name_keys(written)
    assert keys is not None
    assert (keys.han, keys.pinyin, keys.title) == (han, pinyin, title)


def test_empty_values_have_no_keys() -> None:
    assert name_keys(None) is None
    assert name_keys("  ") is None
    assert name_keys("先生") is not None  # a lone title is read as a name: 先 + 生


@pytest.fixture(scope="module")
def people():
    return make_people(np.random.default_rng(3), 400, 700, 2026)


SAME_PINYIN = ("spaced", "pinyin", "upper", "fullwidth", "traditional")


def test_generator_name_styles_share_keys(people) -> None:
    """Every Chinese person's written styles agree with the canonical name on the order-free key, and all
    but the given-name-first one on the surname-first pinyin too."""
    formats = name_formats(people)
    chinese = [i for i in range(people.n) if people.kind[i] != FOREIGN]
    misses = 0
    for i in chinese:
        canonical = name_keys(formats["canonical"](i, 0))
        for style in (*SAME_PINYIN, "reversed"):
            keys = name_keys(formats[style](i, i))
            assert keys.sorted_key == canonical.sorted_key, (style, keys, canonical)
            if style in SAME_PINYIN:
                assert keys.pinyin == canonical.pinyin, (style, keys, canonical)
        misses += name_keys(formats["reversed"](i, i)).pinyin != canonical.pinyin
    assert misses < 0.15 * len(chinese)  # given-name first is only ambiguous when both parts are surnames


def test_foreign_names_agree_in_any_order(people) -> None:
    formats = name_formats(people)
    for i in [i for i in range(people.n) if people.kind[i] == FOREIGN]:
        canonical = name_keys(formats["canonical"](i, 0))
        for style in ("spaced", "reversed", "upper", "fullwidth"):
            assert name_keys(formats[style](i, i)).sorted_key == canonical.sorted_key, style


NAME_TEXT = st.text(alphabet="张三王小明陳麗 ZhangSAN,.'-éü　Ｗ", max_size=12)


@given(st.one_of(NAME_TEXT, st.text(max_size=12)))
def test_normalize_is_idempotent(value: str) -> None:
    once = normalize_name(value)
    assert normalize_name(once) == once
