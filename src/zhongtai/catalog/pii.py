"""PII detection for the catalog: which class of personal data a field holds, from its name and values.

Values decide when they are clear: a field most of whose sampled values are valid phone numbers, e-mail
addresses, resident ID numbers (check character) or bank card numbers (network prefix and Luhn; the checks
are govern/recognizers.py's, which also finds them inside free text) is that class whatever its
name. Names and addresses have no checksum, so their value tests are weak and a field-name hint (English or
Chinese: `mobile`, `手机`, `email`, `身份证`, `姓名`, `地址`, `card_no`...) carries more weight. A hint
whose values do not validate at all is not trusted either (`phone_verified` holding true/false).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Literal

from zhongtai.govern.recognizers import KINDS, TextKind, is_bank_card, kinds_in
from zhongtai.identity.normalize.email import normalize_email
from zhongtai.identity.normalize.id_card import parse_id_card
from zhongtai.identity.normalize.phone import normalize_phone
from zhongtai.identity.normalize.pinyin import COMMON_SURNAMES, COMPOUND_SURNAMES
from zhongtai.identity.normalize.text import fold, is_han

PiiClass = Literal["phone", "id_card", "email", "name", "address", "bank_card"]
STRONG: tuple[PiiClass, ...] = ("id_card", "email", "phone", "bank_card")  # validators with a check
STRONG_SHARE = 0.8  # this share of sampled values validating decides the class on its own
HINT_SHARE = 0.3  # a name hint needs at least this share of its values to validate
SAMPLE_SIZE = 1000

# Field-name hints: (class, whole tokens, substrings). Substrings are long or Chinese so they do not fire
# inside unrelated words ("tel" in "hotel"); the order puts the more specific classes first
# (id_card_no is an ID number, bank_card_no a card).
HINTS: tuple[tuple[PiiClass, frozenset[str], tuple[str, ...]], ...] = (
    ("id_card", frozenset({"id_number", "id_no", "id_card", "idcard", "idno", "sfz"}), ("身份证", "证件号", "identity")),
    ("bank_card", frozenset({"card_no", "cardno", "card_number", "pan"}), ("bankcard", "bank_card", "银行卡", "卡号")),
    ("email", frozenset({"mail"}), ("email", "e_mail", "邮箱", "邮件")),
    ("phone", frozenset({"tel", "cell", "mob"}), ("mobile", "phone", "telephone", "手机", "电话", "联系方式")),
    ("address", frozenset({"addr"}), ("address", "地址", "住址")),
    ("name", frozenset({"name", "full_name", "fullname", "receiver", "contact"}), ("姓名", "名字", "联系人", "收货人")),
)  # fmt: skip
NOT_PERSON = frozenset(
    {"product", "store", "shop", "file", "category", "brand", "sku", "item", "company", "table"}
)
ADDRESS_MARKERS = re.compile(r"省|市|区|县|镇|乡|村|路|街|道|巷|弄|号|栋|幢|楼|室|小区|花园")
ENGLISH_ADDRESS = re.compile(r"(?i)\b(?:rd|road|st|street|ave|avenue|district|no\.|bldg|rm|room|floor)\b")


@dataclass(frozen=True)
class PiiGuess:
    """A field's PII class (None: no personal data recognised), how sure, and why."""

    pii_class: PiiClass | None
    confidence: float  # 0..1, in the class given (or, for None, that the field is not PII)
    evidence: str
    share: float = 0.0  # of the sampled non-empty values, the share that validate as `pii_class`
    sampled: int = 0
    name_hint: PiiClass | None = None
    in_text: tuple[TextKind, ...] = ()  # for free text: the kinds of PII found inside its values


def scan_text(values: Sequence[str | None], sample_size: int = SAMPLE_SIZE) -> tuple[TextKind, ...]:
    """The kinds of PII written inside a sample of free-text values (any one value holding one counts:
    each span passed its kind's check), in `KINDS` order."""
    found: set[TextKind] = set()
    for value in _sample(values, sample_size):
        found |= kinds_in(value)
        if len(found) == len(KINDS):
            break
    return tuple(k for k in KINDS if k in found)


def detect_pii(field_name: str, values: Sequence[str | None], sample_size: int = SAMPLE_SIZE) -> PiiGuess:
    """Guess the PII class of a field from its name and a sample of its values (no I/O)."""
    hint = name_hint(field_name)
    sample = _sample(values, sample_size)
    if not sample:
        if hint is None:
            return PiiGuess(None, 0.5, "no values to sample and no hint in the field name")
        return PiiGuess(
            hint, 0.5, f"no values to sample; field name {field_name!r} suggests {hint}", 0.0, 0, hint
        )
    shares = {pii: share_valid(pii, sample) for pii in (*STRONG, "address", "name")}
    found, share = _decide(shares, hint)
    counted = f"{share:.0%} of {len(sample)} sampled values are valid {found or (hint or 'PII')}"
    if found is None:
        why = (
            f"field name suggests {hint} but only {shares[hint]:.0%} of values validate" if hint else counted
        )
        return PiiGuess(None, round(1 - max(shares.values()), 3), why, 0.0, len(sample), hint)
    agrees = (
        f"; field name {field_name!r} {'agrees' if hint == found else f'suggests {hint}'}" if hint else ""
    )
    confidence = _confidence(found, share, hint == found)
    return PiiGuess(found, confidence, counted + agrees, round(share, 4), len(sample), hint)


def name_hint(field_name: str) -> PiiClass | None:
    """The PII class a field name suggests (English snake/camel case or Chinese), or None."""
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", field_name).lower().replace("-", "_").replace(" ", "_")
    words = [w for w in snake.split("_") if w]
    tokens = {snake, *words, *("_".join(pair) for pair in pairwise(words))}  # id_card_no has id_card
    for pii, whole, parts in HINTS:
        if tokens & whole or any(part in snake for part in parts):
            if pii == "name" and tokens & NOT_PERSON:
                continue  # product_name, store_name: names of things
            return pii
    return None


def share_valid(pii: PiiClass, sample: Sequence[str]) -> float:
    """The share of (non-empty) values that validate as `pii`."""
    check = VALIDATORS[pii]
    return sum(1 for value in sample if check(value)) / len(sample) if sample else 0.0


def looks_like_name(value: str) -> bool:
    """2-4 characters starting with a common surname (or with 先生/女士), or 2-3 Latin words."""
    text = fold(value)
    if all(is_han(c) for c in text.replace(" ", "")) and text:
        han = text.replace(" ", "")
        surname = han[:2] in COMPOUND_SURNAMES or han[0] in COMMON_SURNAMES
        return 2 <= len(han) <= 4 and surname
    words = re.sub(r"[.,]", " ", text).split()
    return 2 <= len(words) <= 3 and all(w.replace("'", "").replace("-", "").isalpha() for w in words)


def looks_like_address(value: str) -> bool:
    """Two or more address markers (省市区路号室...) or an English street address."""
    text = fold(value)
    if len(set(ADDRESS_MARKERS.findall(text))) >= 2 and len(text) >= 6:
        return True
    return len(ENGLISH_ADDRESS.findall(text)) >= 2 and any(c.isdigit() for c in text)


VALIDATORS: dict[PiiClass, Callable[[str], bool]] = {
    "phone": lambda v: normalize_phone(v) is not None,
    "email": lambda v: normalize_email(v) is not None,
    "id_card": lambda v: parse_id_card(v) is not None,
    "bank_card": is_bank_card,
    "name": looks_like_name,
    "address": looks_like_address,
}


def _sample(values: Sequence[str | None], size: int) -> list[str]:
    """Up to `size` non-empty values spread evenly over the column (deterministic)."""
    present = [v for v in values if v is not None and str(v).strip()]
    if len(present) <= size:
        return [str(v) for v in present]
    step = len(present) / size
    return [str(present[int(k * step)]) for k in range(size)]


def _decide(shares: dict[PiiClass, float], hint: PiiClass | None) -> tuple[PiiClass | None, float]:
    strong = max(STRONG, key=lambda pii: shares[pii])
    # A card number has only Luhn behind it (one random number in ten passes): ask more of it unhinted.
    needed = STRONG_SHARE if strong != "bank_card" or hint == "bank_card" else 0.95
    if shares[strong] >= needed:
        return strong, shares[strong]  # values beat the name
    if hint is not None and shares[hint] >= HINT_SHARE:
        return hint, shares[hint]
    if shares["address"] >= STRONG_SHARE:
        return "address", shares["address"]
    if shares["name"] >= 0.9:
        return "name", shares["name"]
    return None, 0.0


def _confidence(pii: PiiClass, share: float, hinted: bool) -> float:
    if pii in STRONG:
        base = 0.5 + 0.45 * share
    elif pii == "address":
        base = 0.4 + 0.4 * share
    else:
        base = 0.3 + 0.3 * share  # a short Chinese word or two Latin words: weak on their own
    return round(min(1.0, base + (0.15 if hinted else 0.0)), 3)
