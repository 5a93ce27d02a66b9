"""Masking by role: what a principal sees of a PII value on every read path (previews, exports, the decision
log, OneID, online features).

One decision per PII class (`see_pii:CLASS` on the object read, from the one policy engine) makes a
`Disclosure`; a value of a class the principal may not see is replaced by that class's mask:

| class | mask | keeps |
| --- | --- | --- |
| phone | `138****5678` | first 3 and last 4 digits |
| id_card | `1101**********1234` | first 4 (the region) and last 4 characters |
| email | `a***@x.com` | first character and the domain |
| name | `张*` | first character |
| address | `北京市朝阳区****` | first 6 characters |
| bank_card | `****1234` | last 4 digits |
| free text | `手机 138****5678` | everything but the recognized spans, each masked as its kind |

A mask is a fixed-width function of the characters it keeps: the number of stars never depends on the value,
so a mask shows nothing about a value's length or its hidden characters, and two values that agree on the
kept characters give the same mask. Tokens (`phone:k5x...`), ciphertexts (`enc:...`) and redacted text
(`[phone:k5x...]`) are not clear values and pass through unchanged. Arrow columns are masked with Arrow's
compute functions (RE2), free text in Python only where a cheap RE2 search says a span may be present.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from zhongtai.govern.recognizers import (
    IN_TEXT,
    KINDS,
    MAYBE_PII,
    TextKind,
    find_spans,
    kinds_of_class,
    replace_spans,
)
from zhongtai.govern.tokens import TOKEN
from zhongtai.spec.policy import PII_ACTION, PII_CLASSES

if TYPE_CHECKING:
    from zhongtai.govern.policy import PolicyEngine
    from zhongtai.govern.principal import Principal
    from zhongtai.meta.store import MetadataStore

TEXT = "text"  # the class of free text: its spans are masked, each as the class its kind belongs to
# The policy class whose `see_pii` lets a principal see a recognized span of each kind in clear.
KIND_CLASS: dict[TextKind, str] = {
    "email": "email",
    "id_card": "id_card",
    "uscc": "id_card",
    "passport": "id_card",
    "bank_card": "bank_card",
    "iban": "bank_card",
    "phone": "phone",
    "landline": "phone",
    "intl_phone": "phone",
}
_SPAN_MASK: dict[TextKind, str] = {**KIND_CLASS, "uscc": "code", "passport": "code", "iban": "code"}
_MAYBE = re.compile(MAYBE_PII)
_PROTECTED = rf"{TOKEN.pattern}|^enc:[0-9a-f]{{8}}:"  # tokens and ciphertexts: not clear values
_NON_DIGIT = r"[^0-9]"
_NON_ALNUM = r"[^0-9A-Za-z]"
_WIDE_DIGITS = str.maketrans("０１２３４５６７８９＠", "0123456789@")


@dataclass(frozen=True)
class _Rule:
    """A class's mask: drop `dropped` characters (surrounding spaces for all), then keep `head` leading
    and `tail` trailing characters around a fixed run of stars, or show only `short` when fewer than
    `head + tail + 1` characters are left (every hidden character hides at least one)."""

    dropped: str | None
    head: int
    stars: str
    tail: int
    short: str


_RULES: dict[str, _Rule] = {
    "phone": _Rule(_NON_DIGIT, 3, "****", 4, "****"),
    "id_card": _Rule(_NON_ALNUM, 4, "*" * 10, 4, "****"),
    "name": _Rule(None, 1, "*", 0, "*"),
    "address": _Rule(None, 6, "****", 0, "****"),
    "bank_card": _Rule(_NON_DIGIT, 0, "****", 4, "****"),
    "code": _Rule(_NON_ALNUM, 0, "****", 4, "****"),
}
_EMAIL = r"^\s*([^@\s])[^@]*@(.+?)\s*$"
_COUNTRY_PREFIX = (("86", 13), ("0086", 15))  # a mainland number written with its country code


@dataclass(frozen=True)
class Disclosure:
    """The PII classes one principal sees in clear on one object; every other class is masked."""

    clear: frozenset[str]

    @property
    def masks_any(self) -> bool:
        """Whether anything is masked at all (a steward's reads skip masking entirely)."""
        return not self.clear.issuperset(PII_CLASSES)

    def sees(self, pii: str | None) -> bool:
        """Whether values of class `pii` are shown in clear (a field declared `none` always is)."""
        if pii in (None, "none"):
            return True
        if pii == TEXT:
            return self.clear.issuperset(KIND_CLASS.values())
        if pii.startswith(IN_TEXT):
            return all(KIND_CLASS[k] in self.clear for k in kinds_of_class(pii) if k in KIND_CLASS)
        return pii in self.clear


EVERYTHING = Disclosure(frozenset(PII_CLASSES))
_SEE_PII = tuple((pii, f"{PII_ACTION}:{pii}") for pii in PII_CLASSES)
_MEMO: weakref.WeakKeyDictionary[PolicyEngine, dict[tuple[Any, ...], Disclosure]] = (
    weakref.WeakKeyDictionary()
)
_MEMO_SIZE = 65_536
NOTHING = Disclosure(frozenset())


def disclosure(
    engine: PolicyEngine, principal: Principal, obj: str = "*", kind: str | None = None
) -> Disclosure:
    """What `principal` sees in clear on object `obj` (of `kind`; datasets by default): one `see_pii:CLASS`
    verdict per class, memoized per engine (a reloaded policy is a new engine), so a repeated read of the
    same object by the same principal is one dict lookup."""
    memo = _MEMO.get(engine)
    if memo is None:
        memo = _MEMO.setdefault(engine, {})
    key = (principal, obj, kind)
    found = memo.get(key)
    if found is None:
        if len(memo) >= _MEMO_SIZE:  # object names come from requests: bounded like the engine's verdicts
            memo.clear()
        allowed = (pii for pii, action in _SEE_PII if engine.check(principal, action, obj, kind).allowed)
        found = memo[key] = Disclosure(frozenset(allowed))
    return found


def mask_value(value: str, pii: str) -> str:
    """The mask of one clear value of class `pii` (free text: its spans masked)."""
    if pii == TEXT or pii.startswith(IN_TEXT):
        return mask_text(value, NOTHING)
    if pii == "email":
        masked, count = re.subn(_EMAIL, r"\1***@\2", value.replace("＠", "@"), count=1)
        return masked if count else "***"
    rule = _RULES.get(pii, _RULES["code"])
    cleaned = value.translate(_WIDE_DIGITS).strip()
    if rule.dropped is not None:
        cleaned = re.sub(rule.dropped, "", cleaned)
    if pii == "phone":
        for prefix, length in _COUNTRY_PREFIX:
            if len(cleaned) == length and cleaned.startswith(prefix):
                cleaned = cleaned[len(prefix) :]
    if len(cleaned) <= rule.head + rule.tail:
        return rule.short
    return cleaned[: rule.head] + rule.stars + (cleaned[len(cleaned) - rule.tail :] if rule.tail else "")


def mask_text(text: str, seen: Disclosure) -> str:
    """Free text with every recognized span of a class `seen` does not show replaced by its kind's mask."""
    if not _MAYBE.search(text):
        return text
    hidden = tuple(k for k in KINDS if KIND_CLASS[k] not in seen.clear)
    if not hidden:
        return text
    return replace_spans(
        text, find_spans(text, hidden), lambda span, value: mask_value(value, _SPAN_MASK[span.kind])
    )


def mask_array(values: pa.Array | pa.ChunkedArray, pii: str, seen: Disclosure = NOTHING) -> pa.Array:
    """`mask_value` over an Arrow column, vectorised (free text: in Python, only the values a span may be
    in, each span masked unless `seen` shows its class); nulls stay null, tokens and ciphertexts stay as
    they are, the result is a string column."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks else pa.array([], pa.string())
    if not pa.types.is_string(values.type):
        values = values.cast(pa.string())
    if len(values) == 0:
        return values
    protected = pc.fill_null(pc.match_substring_regex(values, _PROTECTED), True)
    if pii == TEXT or pii.startswith(IN_TEXT):
        return _mask_text_array(values, pc.invert(protected), seen)
    if pii == "email":
        fits = pc.fill_null(pc.match_substring_regex(values, _EMAIL), False)
        kept = pc.replace_substring_regex(values, _EMAIL, r"\1***@\2", max_replacements=1)
        return pc.if_else(protected, values, pc.if_else(fits, kept, "***"))
    rule = _RULES.get(pii, _RULES["code"])
    cleaned = pc.utf8_trim_whitespace(_fold_digits(values))
    if rule.dropped is not None:
        cleaned = pc.replace_substring_regex(cleaned, rule.dropped, "")
    length = pc.utf8_length(cleaned)
    if pii == "phone":
        for prefix, size in _COUNTRY_PREFIX:
            prefixed = pc.and_(pc.equal(length, size), pc.starts_with(cleaned, prefix))
            cleaned = pc.if_else(prefixed, pc.utf8_slice_codeunits(cleaned, len(prefix)), cleaned)
        length = pc.utf8_length(cleaned)
    parts = [pc.utf8_slice_codeunits(cleaned, 0, rule.head), rule.stars]
    if rule.tail:
        parts.append(pc.utf8_slice_codeunits(cleaned, -rule.tail))
    kept = pc.binary_join_element_wise(*parts, "")
    masked = pc.if_else(pc.greater(length, rule.head + rule.tail), kept, rule.short)
    return pc.if_else(protected, values, masked)


def _fold_digits(values: pa.Array) -> pa.Array:
    """Full-width digits as ASCII digits (a mobile written １３８... keeps the digits a mask shows)."""
    if not pc.any(pc.fill_null(pc.match_substring_regex(values, "[０-９]"), False)).as_py():
        return values
    return pa.array(
        [None if v is None else v.translate(_WIDE_DIGITS) for v in values.to_pylist()], pa.string()
    )


def _mask_text_array(values: pa.Array, clear: pa.Array, seen: Disclosure) -> pa.Array:
    maybe = pc.and_(pc.fill_null(pc.match_substring_regex(values, MAYBE_PII), False), clear)
    if not pc.any(maybe).as_py():
        return values
    candidates = pc.filter(values, maybe).to_pylist()
    masked = pa.array([mask_text(v, seen) for v in candidates], pa.string())
    return pc.replace_with_mask(values, maybe, masked)


def mask_table(table: pa.Table, classes: Mapping[str, str], seen: Disclosure) -> pa.Table:
    """The table as `seen` may see it: each column of a PII class (`classes`: field -> class) it does not
    show masked, and every other text column (no class recorded: PII may be written inside it) masked span
    by span; a column declared `none` is left alone, as is every column for a principal who sees all."""
    if not seen.masks_any:
        return table
    for position, field in enumerate(table.schema):
        masked = _masked_column(field, table[field.name], classes, seen)
        if masked is not None:
            table = table.set_column(position, field.name, masked)
    return table


def mask_batch(batch: pa.RecordBatch, classes: Mapping[str, str], seen: Disclosure) -> pa.RecordBatch:
    """`mask_table` for one record batch (an export streams them)."""
    if not seen.masks_any:
        return batch
    names, arrays = batch.schema.names, []
    for field, column in zip(batch.schema, batch.columns, strict=True):
        masked = _masked_column(field, column, classes, seen)
        arrays.append(column if masked is None else masked)
    return pa.RecordBatch.from_arrays(arrays, names=names)


def _masked_column(
    field: pa.Field, column: pa.Array | pa.ChunkedArray, classes: Mapping[str, str], seen: Disclosure
) -> pa.Array | None:
    """The column masked for `seen`, or None when it shows as it is."""
    pii = classes.get(field.name)
    if pii is None and (pa.types.is_string(field.type) or pa.types.is_large_string(field.type)):
        pii = TEXT
    if pii is None or seen.sees(pii):
        return None
    return mask_array(column, pii, seen)


def mask_record(row: Mapping[str, Any], classes: Mapping[str, str], seen: Disclosure) -> dict[str, Any]:
    """One row (a golden record, OneID evidence) with each field of a class `seen` does not show masked;
    other strings are masked as free text."""
    return {name: _mask_field(value, classes.get(name), seen) for name, value in row.items()}


def _mask_field(value: Any, pii: str | None, seen: Disclosure) -> Any:
    if pii == "none":
        return value
    if value is None or pii is None or seen.sees(pii):
        return mask_json(value, seen)
    text = str(value)
    if TOKEN.match(text) or text.startswith("enc:"):
        return text
    if pii == TEXT or pii.startswith(IN_TEXT):
        return mask_text(text, seen)
    return mask_value(text, pii)


def mask_json(value: Any, seen: Disclosure) -> Any:
    """A JSON-like value (feature values, decision inputs, factors) with every string masked as free text and
    every integer that is a phone, ID or card number masked as one; keys and structure unchanged."""
    kind = type(value)
    if kind is float or value is None or kind is bool or not seen.masks_any:
        return value
    if isinstance(value, str):
        return mask_text(value, seen)
    if isinstance(value, dict):
        if all(_untouched(item) for item in value.values()):
            return value  # feature values: numbers and flags, nothing to copy
        return {key: mask_json(item, seen) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [mask_json(item, seen) for item in value]
    if isinstance(value, int) and value >= 10**10:
        # A phone, ID or card number sent as a JSON number: masked when its digits are one span.
        text = str(value)
        masked = mask_text(text, seen)
        return value if masked == text else masked
    return value


def _untouched(value: Any) -> bool:
    """A value `mask_json` never changes: a float, flag, null or an integer too short to be a number of PII."""
    kind = type(value)
    return kind is float or value is None or kind is bool or (kind is int and value < 10**10)


def field_classes(fields: Iterable[Any]) -> dict[str, str]:
    """The field -> PII class map of a dataset's catalog fields (declared or detected classes; `none` where
    the spec says a field is not personal data)."""
    return {f.name: str(f.pii) for f in fields if f.pii is not None}


def cli_disclosure(store: MetadataStore, obj: str = "*", kind: str | None = None) -> Disclosure:
    """What the CLI's principal sees in clear on `obj`: a local admin sees everything, unless a policy
    denies its name (`ZT_PRINCIPAL`) some `see_pii` class (govern/policy.py `cli_principal`)."""
    from zhongtai.govern.policy import cli_principal, load_engine

    return disclosure(load_engine(store), cli_principal(), obj, kind)
