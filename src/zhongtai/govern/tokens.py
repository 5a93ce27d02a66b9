"""Keyed tokens for PII: HMAC-SHA256 over a value's canonical form, so equal values join as tokens.

A token is `<class>:<26 characters>`: 128 bits of HMAC-SHA256 under the token key, in lower-case base32
(`a-z`, `2-7`), e.g. `phone:k5xq...`. The canonical form is the one OneID compares (mainland mobile `13812345678` from
`+86 138-1234-5678`, a lower-cased e-mail, an upper-cased resident ID number...), so the same phone number
written two ways in two systems gives one token. A value that does not parse as its class (a phone field
holding `unknown`) is tokenized as written after width and space folding, marked `<class>?:`, so it never
equals a canonical token and OneID ignores it, as it ignores an unparsable value in clear.

The class is part of the HMAC input: a name and an address with the same text get different tokens.
Base32 keeps tokens plain ASCII that any engine, CSV export or URL carries unchanged, and its alphabet has no
0, 1, 8 or 9: a token can never contain something that reads as a mobile number (`1[3-9]` and nine digits),
a landline (a leading 0) or a resident ID (a birth year 19xx or 20xx), which hex digests do by chance (one
32-hex token in about 700 holds an 11-digit run like `13912345678`). Tokens written in hex before (32 hex
digits) are still recognized as tokens by `is_token` and `token_mask`, but do not equal the base32 token of
the same value: re-ingest such a dataset with `--full` (docs/pii.md).
"""

from __future__ import annotations

import base64
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
DIGEST = "[a-z2-7]{26}"  # base32 of TOKEN_BYTES, unpadded
_LEGACY_DIGEST = "[0-9a-f]{32}"  # hex, as tokens were written before base32
# Column classes, then the classes only spans of free text take (govern/recognizers.py TOKEN_CLASS).
_CLASSES = "phone|id_card|email|name|address|bank_card|uscc|iban|intl_phone|passport"
TOKEN = re.compile(rf"^({_CLASSES})(\??):(?:{DIGEST}|{_LEGACY_DIGEST})$")
CANONICAL_TOKEN = rf"^({_CLASSES}):(?:{DIGEST}|{_LEGACY_DIGEST})$"
_CARD_NOISE = re.compile(r"[ \-]")


def _bank_card(value: str | None) -> str | None:
    """The digits of a card number (12-19 of them, spaces and dashes dropped), or None."""
    if value is None:
        return None
    digits = _CARD_NOISE.sub("", fold(value))
    return digits if digits.isascii() and digits.isdigit() and 12 <= len(digits) <= 19 else None


def _code(value: str | None) -> str | None:
    """A code written with letters and digits (credit code, IBAN, passport): upper case, spaces dropped."""
    if value is None:
        return None
    code = _CARD_NOISE.sub("", fold(value)).upper()
    return code if code.isascii() and code.isalnum() else None


def _e164(value: str | None) -> str | None:
    """An international number in E.164 (`+442071838750`), or None."""
    import phonenumbers

    try:
        number = phonenumbers.parse(fold(value or ""), None)
    except phonenumbers.NumberParseException:
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


CANONICAL: dict[str, Callable[[str | None], str | None]] = {
    "phone": normalize_phone,
    "email": normalize_email,
    "id_card": normalize_id_card,
    "name": normalize_name,
    "address": normalize_address,
    "bank_card": _bank_card,
    "uscc": _code,
    "iban": _code,
    "passport": _code,
    "intl_phone": _e164,
}


def tokenize(value: str | None, pii: str, keys: PiiKeys) -> str | None:
    """The token of one value of PII class `pii` (None and blank values stay as they are)."""
    if value is None or not value.strip():
        return value
    canonical = CANONICAL[pii](value)
    marker, text = ("", canonical) if canonical is not None else ("?", fold(value))
    digest = hmac.digest(keys.token_key, f"{pii}{marker}\x00{text}".encode(), hashlib.sha256)
    return f"{pii}{marker}:{render_digest(digest[:TOKEN_BYTES])}"


def render_digest(digest: bytes) -> str:
    """A token's digest as written: lower-case base32 without padding (no 0, 1, 8, 9; see the module doc)."""
    return base64.b32encode(digest).decode("ascii").rstrip("=").lower()


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
