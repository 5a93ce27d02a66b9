"""E-mail addresses: the generator's variations, the opt-in foldings, rejects."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zhongtai.identity.normalize.email import normalize_email
from zhongtai.scenarios.retail.noise import EMAIL_FORMATS

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("style", sorted(set(EMAIL_FORMATS) - {"domain_typo"}))
@pytest.mark.parametrize("salt", [0, 1, 2])
def test_generator_styles_fold_back(style: str, salt: int) -> None:
    assert normalize_email(EMAIL_FORMATS[style]("wang.wei88@163.com", salt)) == "wang.wei88@163.com"


@pytest.mark.parametrize(
    "address", ["wangwei@qq.com", "li_na@163.com", "j.smith@gmail.com", "kim@outlook.com"]
)
def test_domain_typos_are_fixed_only_on_request(address: str) -> None:
    typo = EMAIL_FORMATS["domain_typo"](address, 0)
    assert normalize_email(typo) == typo  # a valid shape: kept as written by default
    assert normalize_email(typo, fix_provider_typos=True) == address


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        (" John.Smith@Example.COM ", "john.smith@example.com"),
        ("mailto:Li@QQ.com", "li@qq.com"),
        ("MAILTO:li@qq.com", "li@qq.com"),
        ("ｌｉ＠ｑｑ．ｃｏｍ", "li@qq.com"),
        ("li@qq。com", "li@qq.com"),
        ("li @ qq.com", "li@qq.com"),
        ("a+tag@sub.example.co.uk", "a+tag@sub.example.co.uk"),
    ],
)
def test_writings(written: str, canonical: str) -> None:
    assert normalize_email(written) == canonical


@pytest.mark.parametrize(
    "written",
    [None, "", "li", "li@", "@qq.com", "li@qq", "li@@qq.com", "li..x@qq.com", ".li@qq.com", "李@qq.com"],
)
def test_rejects(written: str | None) -> None:
    assert normalize_email(written) is None


def test_gmail_folding_is_opt_in_and_gmail_only() -> None:
    assert normalize_email("J.Smith+shop@Gmail.com") == "j.smith+shop@gmail.com"
    assert normalize_email("J.Smith+shop@Gmail.com", fold_provider_rules=True) == "jsmith@gmail.com"
    assert normalize_email("j.smith+x@googlemail.com", fold_provider_rules=True) == "jsmith@gmail.com"
    assert normalize_email("j.smith+x@outlook.com", fold_provider_rules=True) == "j.smith+x@outlook.com"


def test_typo_fix_needs_exactly_one_near_provider() -> None:
    assert normalize_email("x@gmial.com", fix_provider_typos=True) == "x@gmail.com"
    assert normalize_email("x@sina.cn", fix_provider_typos=True) == "x@sina.cn"  # a real domain
    assert normalize_email("x@example.com", fix_provider_typos=True) == "x@example.com"


@given(st.one_of(st.emails(), st.text(max_size=30)), st.booleans(), st.booleans())
def test_normalize_is_idempotent(value: str, fold: bool, fix: bool) -> None:
    once = normalize_email(value, fold_provider_rules=fold, fix_provider_typos=fix)
    assert normalize_email(once, fold_provider_rules=fold, fix_provider_typos=fix) == once
