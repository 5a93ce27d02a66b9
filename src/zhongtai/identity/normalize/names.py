"""Person names in Chinese characters, pinyin and other Latin scripts.

`normalize_name` gives a canonical written form: characters simplified with spaces removed (`張 三` → `张三`),
or Latin folded (case, accents, punctuation, spaces; `Smith, John` → `john smith`).

`name_keys` gives comparison keys that make `张三`, `Zhang San`, `San Zhang`, `ZHANG SAN` and `zhangsan`
agree: `pinyin` (surname first where the surname can be told), `initials`, and `sorted_key` (the pinyin
syllables in alphabetical order), which needs no surname at all and so is the key to compare on when one
side may be written given-name first.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import pyarrow as pa

from zhongtai.identity.normalize.pinyin import (
    fold_umlaut,
    han_pinyin,
    segment,
    simplify,
    split_han_name,
    surname_pinyin,
    syllables,
)
from zhongtai.identity.normalize.text import fold, has_han, is_han, map_unique

HAN_TITLES = ("先生", "女士", "小姐", "太太", "夫人", "老师", "师傅")
LATIN_TITLES = frozenset({"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "madam"})
TOP_SURNAMES = 10  # 王李张刘陈杨黄赵吴周: a fifth of the population
TOO_RARE = 10**6
_NOT_NAME = re.compile(r"[^\w' -]|[\d_]")  # Latin names keep letters, apostrophes and hyphens


@dataclass(frozen=True)
class NameKeys:
    """Comparison keys of one written name."""

    original: str
    han: str | None  # simplified characters, no spaces, title removed; None for Latin-only names
    pinyin: str  # lower-case, toneless, no spaces, surname first when known
    initials: str  # first letter of every syllable (pinyin) or token (other Latin), in `pinyin` order
    sorted_key: str  # syllables (or tokens) sorted and space-joined: independent of name order
    title: str | None = None  # 先生, 女士, mr, ms...: the record names only a surname


def normalize_name(value: str | None) -> str | None:
    """The canonical written form of a name, or None when nothing name-like is left."""
    if value is None:
        return None
    text = fold(value)
    if has_han(text):
        return simplify("".join(c for c in text if is_han(c))) or None
    return " ".join(_latin_tokens(text)) or None


def normalize_name_array(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """`normalize_name` over an Arrow array (once per distinct name)."""
    return map_unique(values, normalize_name)


def name_keys(value: str | None) -> NameKeys | None:
    """Comparison keys of a name (see the module doc), or None when the value holds no name."""
    if value is None:
        return None
    text = fold(value)
    if has_han(text):
        return _han_keys(value, simplify("".join(c for c in text if is_han(c))))
    return _latin_keys(value, text)


def _han_keys(original: str, han: str) -> NameKeys | None:
    title = next((t for t in HAN_TITLES if han.endswith(t) and 1 <= len(han) - len(t) <= 2), None)
    if title:
        han = han[: -len(title)]
    if not han:
        return None
    surname, given = split_han_name(han)
    family = "".join(han_pinyin(surname, surname=True))
    first = "".join(han_pinyin(given))
    groups = [segment(family)] + ([segment(first)] if first else [])
    return _keys(original, han, groups, pinyin_like=True, title=title)


def _latin_keys(original: str, text: str) -> NameKeys | None:
    if "," in text:  # "Smith, John": the comma already says the surname comes first
        last, _, first = text.partition(",")
        tokens, raw = _latin_tokens(last) + _latin_tokens(first), []
    else:
        tokens, raw = _latin_tokens(text), text.split()
    title = tokens[0] if len(tokens) > 1 and tokens[0] in LATIN_TITLES else None
    if title:
        tokens, raw = tokens[1:], raw[1:]
    if not tokens:
        return None
    if raw:
        tokens = _surname_first(tokens, raw if len(raw) == len(tokens) else tokens)
    known = syllables()
    groups = [segment(t) for t in tokens]
    pinyin_like = all(s in known for group in groups for s in group)
    return _keys(original, None, groups if pinyin_like else [[t] for t in tokens], pinyin_like, title)


def _surname_first(tokens: list[str], raw: list[str]) -> list[str]:
    """Put the surname first: an upper-case token (`WANG Xiaoming`), else a known Chinese surname."""
    if len(tokens) < 2:
        return tokens
    upper = [k for k, t in enumerate(raw) if len(t) > 1 and t.isupper()]
    if len(upper) == 1 and len(upper) < len(raw):
        k = upper[0]
    else:
        rank = surname_pinyin()
        first, last = rank.get(tokens[0], TOO_RARE), rank.get(tokens[-1], TOO_RARE)
        # Surname first is the usual order; the last token wins when it is a known surname and the first is
        # not, or when it is a top surname and the first a rare one ("Wei Wang": 魏 is rarer than 王).
        flip = last < TOO_RARE and (first == TOO_RARE or (last < TOP_SURNAMES <= first))
        k = len(tokens) - 1 if flip else 0
    return [tokens[k], *tokens[:k], *tokens[k + 1 :]]


def _keys(
    original: str, han: str | None, groups: list[list[str]], pinyin_like: bool, title: str | None
) -> NameKeys:
    parts = [s for group in groups for s in group]
    initials = "".join(s[0] for s in parts) if pinyin_like else "".join(g[0][0] for g in groups)
    return NameKeys(original, han, "".join(parts), initials, " ".join(sorted(parts)), title)


def _latin_tokens(text: str) -> list[str]:
    """Lower-case, accent-free tokens in written order; `Last, First` is turned to `first last`."""
    if "," in text:
        last, _, first = text.partition(",")
        text = f"{first} {last}"
    plain = unicodedata.normalize("NFKD", text.lower())
    plain = "".join(c for c in plain if not unicodedata.combining(c))
    plain = unicodedata.normalize("NFC", plain).replace("ß", "ss").replace("ø", "o").replace("ł", "l")
    plain = _NOT_NAME.sub(" ", plain)
    return [fold_umlaut(t.strip("'-")) for t in plain.split() if t.strip("'-")]
