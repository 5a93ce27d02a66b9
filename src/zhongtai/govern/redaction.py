"""Free text with its PII spans replaced: by tokens in the lake, by kind markers in logs.

In the lake (`redact: [phone, id_card, ...]` on a text field, docs/pii.md) each recognized span becomes its
token in brackets, `[phone:k5x...]`: the same keyed HMAC over OneID's canonical form that a PII column
holds, so a phone redacted from a ticket joins the phone column's token (`regexp_extract(text,
'\\[(phone:[a-z2-7]{26})\\]', 1) = contact_phone`). A token's alphabet has no 0, 1, 8 or 9
(govern/tokens.py), so redacted text cannot hold a mobile, landline or ID number by accident.

In the decision log nothing needs to join, and the writer has no key at hand: a span becomes its kind,
`[phone]`, `[id_card]`. Dict keys and the structure of nested inputs stay as they are.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from zhongtai.govern.keys import PiiKeys
from zhongtai.govern.recognizers import KINDS, MAYBE_PII, TOKEN_CLASS, TextKind, find_spans, replace_spans
from zhongtai.govern.tokens import DIGEST, tokenize

_MAYBE = re.compile(MAYBE_PII)
_REDACTED = re.compile(rf"\[(email|id_card|bank_card|phone):{DIGEST}\]")
_TOKEN_KIND: dict[str, TextKind] = {
    "email": "email",
    "id_card": "id_card",
    "bank_card": "bank_card",
    "phone": "phone",
}


def redact_text(text: str, kinds: Iterable[TextKind], keys: PiiKeys) -> str:
    """`text` with each span of the given kinds replaced by `[<token>]`."""
    spans = find_spans(text, kinds)
    return replace_spans(
        text, spans, lambda span, value: f"[{tokenize(value, TOKEN_CLASS[span.kind], keys)}]"
    )


def redact_array(values: pa.Array | pa.ChunkedArray, kinds: Iterable[TextKind], keys: PiiKeys) -> pa.Array:
    """`redact_text` over an Arrow string array (nulls stay null); texts without a digit run or an @ are
    not looked at in Python."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks else pa.array([], pa.string())
    if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        values = values.cast(pa.string())
    wanted = tuple(kinds)
    maybe = pc.fill_null(pc.match_substring_regex(values, MAYBE_PII), False)  # in RE2: most skip Python
    if not pc.any(maybe).as_py():
        return values
    candidates = pc.filter(values, maybe)
    redacted = pa.array([redact_text(v, wanted, keys) for v in candidates.to_pylist()], values.type)
    return pc.replace_with_mask(values, maybe, redacted)


def redacted_kinds(text: str) -> set[TextKind]:
    """The kinds whose tokens `redact_text` left in `text` (a landline's token is a phone's)."""
    return {_TOKEN_KIND[match.group(1)] for match in _REDACTED.finditer(text)}


def scrub_text(text: str, kinds: Iterable[TextKind] = KINDS) -> str:
    """`text` with each recognized span replaced by its kind in brackets: `call [phone] today`."""
    return replace_spans(text, find_spans(text, kinds), lambda span, _: f"[{span.kind}]")


def scrub(value: Any) -> Any:
    """A copy of a JSON-like value with every string scrubbed, and every integer that is a phone, ID or card
    number replaced by its kind; dict keys, other numbers and the structure are unchanged."""
    kind = type(value)
    if kind is float or value is None or kind is bool:
        return value  # most feature values: decided before any isinstance chain
    if isinstance(value, str):
        return scrub_text(value) if _MAYBE.search(value) else value
    if isinstance(value, dict):
        return {key: scrub(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(item) for item in value]
    if isinstance(value, int) and value >= 10**10:
        # A phone, ID or card number sent as a JSON number (11 digits or more; a landline as a number has
        # lost its leading 0): replaced when its digits are one span.
        text = str(value)
        spans = find_spans(text)
        return f"[{spans[0].kind}]" if spans and spans[0].end - spans[0].start == len(text) else value
    return value
