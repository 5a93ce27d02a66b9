"""The Arrow forms return exactly what the scalar forms return, element by element."""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zhongtai.identity.normalize import (
    normalize_address,
    normalize_address_array,
    normalize_email,
    normalize_email_array,
    normalize_id_card,
    normalize_id_card_array,
    normalize_name,
    normalize_name_array,
    normalize_phone,
    normalize_phone_array,
)
from zhongtai.scenarios.retail.noise import EMAIL_FORMATS, ID_FORMATS, PHONE_FORMATS

pytestmark = pytest.mark.unit

MOBILES = st.builds(lambda s, r: f"1{s}{r:09d}", st.integers(3, 9), st.integers(0, 10**9 - 1))
WRITTEN_PHONES = st.builds(
    lambda style, number, salt: PHONE_FORMATS[style](number, salt),
    st.sampled_from(sorted(PHONE_FORMATS)),
    MOBILES,
    st.integers(0, 2**31),
)
PHONE_TEXT = st.text(alphabet="0123456789１８+-(). 转x#\t.", max_size=22)
WRITTEN_EMAILS = st.builds(
    lambda style, email, salt: EMAIL_FORMATS[style](email, salt),
    st.sampled_from(sorted(EMAIL_FORMATS)),
    st.emails(),
    st.integers(0, 2**31),
)
WRITTEN_IDS = st.builds(
    lambda style, salt: ID_FORMATS[style]("11010519491231002X", salt),
    st.sampled_from(sorted(ID_FORMATS)),
    st.integers(0, 2**31),
)
ID_TEXT = st.text(alphabet="0123456789xX -１", min_size=14, max_size=20)
ANY = st.one_of(st.none(), st.text(max_size=16))


def column(*strategies: st.SearchStrategy) -> st.SearchStrategy[list[str | None]]:
    return st.lists(st.one_of(*strategies, ANY), max_size=40)


CASES: dict[str, tuple[Callable, Callable, st.SearchStrategy]] = {
    "phone": (normalize_phone, normalize_phone_array, column(WRITTEN_PHONES, PHONE_TEXT)),
    "email": (normalize_email, normalize_email_array, column(WRITTEN_EMAILS)),
    "id_card": (normalize_id_card, normalize_id_card_array, column(WRITTEN_IDS, ID_TEXT)),
    "name": (normalize_name, normalize_name_array, column(st.sampled_from(["张三", "Zhang San", "陳 麗"]))),
    "address": (normalize_address, normalize_address_array, column(st.sampled_from(["上海黄浦区人民路1号"]))),
}


@pytest.mark.parametrize("kind", sorted(CASES))
def test_arrow_form_equals_scalar_form(kind: str) -> None:
    scalar, vectorized, values = CASES[kind]

    @settings(max_examples=60, deadline=None)
    @given(values)
    def check(items: list[str | None]) -> None:
        assert vectorized(pa.array(items, pa.string())).to_pylist() == [scalar(v) for v in items]

    check()


def test_email_options_reach_the_arrow_form() -> None:
    values = pa.array(["J.Smith+x@GMAIL.com", "a@qq.con", None])
    assert normalize_email_array(values, fold_provider_rules=True, fix_provider_typos=True).to_pylist() == [
        "jsmith@gmail.com",
        "a@qq.com",
        None,
    ]


@pytest.mark.parametrize("kind", sorted(CASES))
def test_arrow_forms_accept_chunked_large_and_empty_arrays(kind: str) -> None:
    scalar, vectorized, _ = CASES[kind]
    values = ["13812345678", None, "+86 21 6123 4567", "a@b.cn"]
    chunked = pa.chunked_array([values[:2], values[2:]], pa.large_string())
    assert vectorized(chunked).to_pylist() == [scalar(v) for v in values]
    assert vectorized(pa.array([], pa.string())).to_pylist() == []
