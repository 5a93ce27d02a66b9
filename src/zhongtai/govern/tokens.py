"""Keyed tokens for PII: HMAC-SHA256 over a value's canonical form, so equal values join as tokens.

A token is `<class>:<32 hex digits>` (128 bits of HMAC-SHA256 under the token key), e.g.
`phone:3f9c...`. The canonical form is the one OneID compares (mainland mobile `13812345678` from
`+86 138-1234-5678`, a lower-cased e-mail, an upper-cased resident ID number...), so the same phone number
written two ways in two systems gives one token. A value that does not parse as its class (a phone field
holding `unknown`) is tokenized as written after width and space folding, marked `<class>?:`, so it never
equals a canonical token and OneID ignores it, as it ignores an unparsable value in clear.

The class is part of the HMAC input: a name and an address with the same text get different tokens.
Hex keeps tokens plain ASCII that any engine, CSV export or URL carries unchanged.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable
from typing import Literal

import pyarrow as pa
import pyarrow.compute as pc

from zhongtai.govern.keys import PiiKeys
from zhongtai.identity.normalize import (
    normalize_address,
    normalize_email,
    normalize_id_card,
    normalize_name,
    normalize_phone,
)
from zhongtai.identity.normalize.text import fold

PiiClass = Literal["phone", "id_card", "email", "name", "address", "bank_card"]
TOKEN_BYTES = 16
TOKEN = re.compile(r"^(phone|id_card|email|name|address|bank_card)(\??):[0-9a-f]{32}$")
CANONICAL_TOKEN = r"^(phone|id_card|email|name|address|bank_card):[0-9a-f]{32}$"
_CARD_NOISE = re.compile(r"[ \-]")


def _bank_card(value: str | None) -> str | None:
    """The digits of a card number (12-19 of them, spaces and dashes dropped), or None."""
    if value is None:
        return None
    digits = _CARD_NOISE.sub("", fold(value))
    return digits if digits.isascii() and digits.isdigit() and 12 <= len(digits) <= 19 else None


CANONICAL: dict[str, Callable[[str | None], str | None]] = {
    "phone": normalize_phone,
    "email": normalize_email,
    "id_card": normalize_id_card,
    "name": normalize_name,
    "address": normalize_address,
    "bank_card": _bank_card,
}


def tokenize(value: str | None, pii: str, keys: PiiKeys) -> str | None:
    """The token of one value of PII class `pii` (None and blank values stay as they are)."""
    if value is None or not value.strip():
        return value
    canonical = CANONICAL[pii](value)
    marker, text = ("", canonical) if canonical is not None else ("?", fold(value))
    digest = hmac.digest(keys.token_key, f"{pii}{marker}\x00{text}".encode(), hashlib.sha256)
    return f"{pii}{marker}:{digest[:TOKEN_BYTES].hex()}"


def tokenize_array(values: pa.Array | pa.ChunkedArray, pii: str, keys: PiiKeys) -> pa.Array:
    """`tokenize` over an Arrow array, once per distinct value; any type is read as its text."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks else pa.array([], pa.string())
    if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        values = values.cast(pa.string())
    encoded = pc.dictionary_encode(values)
    distinct = [tokenize(v, pii, keys) for v in encoded.dictionary.to_pylist()]
    return pc.take(pa.array(distinct, pa.string()), encoded.indices)


def is_token(value: str | None) -> bool:
    """Whether a value is a token (of any class, canonical or not)."""
    return value is not None and TOKEN.match(value) is not None


def token_mask(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """True where a value is any token."""
    return pc.match_substring_regex(values, TOKEN.pattern)
