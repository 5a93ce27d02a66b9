"""Recognizers: where in a free text a mainland mobile, landline, resident ID, bank card, e-mail, unified social
credit code, IBAN, international phone number or passport number is written.

A span is a candidate found by a loose pattern and then validated by the same normalizers OneID uses
(`identity/normalize/`), so what is recognized here tokenizes exactly as the PII columns do:

- `phone`: a mainland mobile, 11 digits starting 13-19, written plain, 3-4-4 with spaces or dashes,
  behind `+86`, `0086`, `86` or `(+86)`, in full-width digits;
- `landline`: an area code with its 0 (or after +86) and a 7-8 digit local number: `010-12345678`,
  `(0755) 8765 4321`; a local number without an area code is not recognized (too much else is 8 digits);
- `id_card`: an 18-character resident ID (spaces or dashes allowed) with a valid check character, region and
  birth date. The 15-digit form of before 1999 has no check character: a 15-digit order number or timestamp
  passes its date and region tests too often, so free text is not searched for it;
- `bank_card`: 13-19 digits (groups of four allowed) with a card network's prefix and length (UnionPay 62,
  Visa 4, Mastercard 51-55 and 2221-2720, Amex 34/37, JCB 35, Discover 60/64/65, Diners 30/36/38) passing
  Luhn, and not a valid ID number;
- `email`: an address of the shape `normalize_email` accepts (a full-width ＠ too);
- `uscc`: an 18-character unified social credit code (统一社会信用代码) with a valid check character
  (GB 32100-2015: mod 31 over the 31-character alphabet without I, O, Z, S and V);
- `iban`: an international bank account number (groups of four allowed) of its country's length, passing
  the ISO 13616 mod-97 check;
- `intl_phone`: a number written with `+` and a country code other than 86, valid by libphonenumber's
  metadata (`phonenumbers`);
- `passport`: a mainland passport number (E or G and 8 digits, or E, a letter and 7 digits) within a few
  characters after the word 护照 or passport: passports carry no check digit, so the word is the evidence.

Precision: a number glued to letters or digits (`SO20240101000123`, `u13812345678`) or part of an amount
(`13812345678.50`) is not a span, and every kind has a check a random digit run rarely passes (mobile
prefix, area code, check character, Luhn and network prefix). Spans never overlap: where two kinds claim the
same characters the longer wins, then the kind listed first in `KINDS`. A Span holds offsets and a kind,
never the text, so spans may be counted and logged.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal, get_args

from zhongtai.identity.normalize.email import normalize_email
from zhongtai.identity.normalize.id_card import parse_id_card
from zhongtai.identity.normalize.phone import normalize_phone
from zhongtai.identity.normalize.text import fold_width

TextKind = Literal[
    "email", "id_card", "uscc", "bank_card", "iban", "phone", "landline", "intl_phone", "passport"
]
KINDS: tuple[TextKind, ...] = get_args(TextKind)  # also the priority among spans of equal length
# The PII class whose token a span gets: a landline is a phone number, and joins a phone column's token.
TOKEN_CLASS: dict[TextKind, str] = {
    "email": "email",
    "id_card": "id_card",
    "uscc": "uscc",
    "bank_card": "bank_card",
    "iban": "iban",
    "phone": "phone",
    "landline": "phone",
    "intl_phone": "intl_phone",
    "passport": "passport",
}

IN_TEXT = "text:"  # a field's PII class when its free text holds spans: `text:phone,id_card`

_D = "[0-9０-９]"
_SEP = r"[ \u3000\-－]"
_LEFT = r"(?<![0-9０-９A-Za-zＡ-Ｚａ-ｚ_])(?<![0-9０-９][.．])"
_RIGHT = r"(?![0-9０-９A-Za-zＡ-Ｚａ-ｚ_]|[.．][0-9０-９])"
_COUNTRY = rf"(?:(?:[+＋]|00)86{_SEP}?|86{_SEP}?|[(（][+＋]?86[)）]{_SEP}?)"
_PATTERNS: dict[TextKind, re.Pattern[str]] = {
    "email": re.compile(
        r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]+[@＠][A-Za-z0-9\-]+(?:[.．。][A-Za-z0-9\-]+)*"
        r"[.．。][A-Za-z]{2,63}(?![A-Za-z0-9\-])"
    ),
    "id_card": re.compile(rf"{_LEFT}{_D}{{6}}{_SEP}?{_D}{{8}}{_SEP}?{_D}{{3}}[0-9０-９XxＸｘ]{_RIGHT}"),
    "bank_card": re.compile(
        rf"{_LEFT}(?:{_D}{{4}}(?:{_SEP}?{_D}{{4}}){{2,3}}(?:{_SEP}?{_D}{{1,3}})?"
        rf"|{_D}{{4}}{_SEP}{_D}{{6}}{_SEP}{_D}{{5}}){_RIGHT}"
    ),
    "phone": re.compile(
        rf"(?<![+＋]){_LEFT}{_COUNTRY}?[1１]{_D}{{2}}{_SEP}?{_D}{{4}}{_SEP}?{_D}{{4}}{_RIGHT}"
    ),
    "landline": re.compile(
        rf"(?<![+＋]){_LEFT}(?:{_COUNTRY}[(（]?0?{_D}{{2,3}}[)）]?|[(（]0{_D}{{2,3}}[)）]|0{_D}{{2,3}})"
        rf"{_SEP}?{_D}{{3,4}}{_SEP}?{_D}{{3,4}}{_RIGHT}"
    ),
    "uscc": re.compile(rf"{_LEFT}[0-9A-HJ-NP-RTUWXY]{{2}}[0-9]{{6}}[0-9A-HJ-NP-RTUWXY]{{10}}{_RIGHT}"),
    "iban": re.compile(
        rf"{_LEFT}[A-Z]{{2}}[0-9]{{2}}(?: ?[A-Z0-9]{{4}}){{2,7}}(?: ?[A-Z0-9]{{1,3}})?{_RIGHT}"
    ),
    # The number is group `v`: the word before it is evidence, not part of the span.
    "passport": re.compile(
        rf"(?:护照|[Pp]assport|PASSPORT)[^\n]{{0,12}}?{_LEFT}(?P<v>[EeGg][0-9]{{8}}|[Ee][A-HJ-NP-Za-hj-np-z][0-9]{{7}}){_RIGHT}"
    ),
}
_INTERNATIONAL = re.compile(r"[+＋]")  # libphonenumber is asked only about texts with a +
# Every span has an @, or four digits in a row right after a separator or at the start (a span begins at a
# boundary, and a group shorter than four is followed by a separator), or the head of an IBAN or a passport
# number: most texts are ruled out by this one search (it runs in RE2 too, over whole columns).
MAYBE_PII = (
    r"(?:^|[^A-Za-z0-9０-９])[0-9０-９]{4}|[@＠]|[A-Z]{2}[0-9]{2}[A-Z0-9]{4}|[EeGg][A-Za-z0-9][0-9]{7}"
)
_MAYBE = re.compile(MAYBE_PII)
_NOISE = re.compile(r"[ \u3000\-－]")
# (first digits, allowed lengths) of the card networks; Chinese debit cards are mostly UnionPay 62.
_NETWORKS: tuple[tuple[tuple[str, ...], range], ...] = (
    (("62", "60", "64", "65", "35"), range(16, 20)),
    (("4",), range(13, 20, 3)),
    (("51", "52", "53", "54", "55"), range(16, 17)),
    (("34", "37"), range(15, 16)),
    (("30", "36", "38"), range(14, 17)),
)


@dataclass(frozen=True)
class Span:
    """Where one recognized value is written: text[start:end] (the text itself is not kept)."""

    kind: TextKind
    start: int
    end: int


def find_spans(text: str, kinds: Iterable[TextKind] = KINDS) -> list[Span]:
    """The non-overlapping spans of the given kinds in `text`, in order."""
    if not _MAYBE.search(text):
        return []
    chosen = set(kinds)
    wanted = [kind for kind in KINDS if kind in chosen and kind in _PATTERNS]
    found = [
        Span(kind, match.start("v"), match.end("v"))
        if "v" in match.groupdict()
        else Span(kind, *match.span())
        for kind in wanted
        for match in _PATTERNS[kind].finditer(text)
        if VALIDATE[kind](match.group("v") if "v" in match.groupdict() else match.group())
    ]
    if "intl_phone" in chosen and _INTERNATIONAL.search(text):
        found += _international_phones(text)
    found.sort(key=lambda s: (s.start, s.start - s.end, KINDS.index(s.kind)))
    spans: list[Span] = []
    for span in found:
        if not spans or span.start >= spans[-1].end:
            spans.append(span)
    return spans


def kinds_in(text: str, kinds: Iterable[TextKind] = KINDS) -> set[TextKind]:
    """Which kinds of PII `text` contains."""
    return {span.kind for span in find_spans(text, kinds)}


def in_text_class(kinds: Iterable[TextKind]) -> str | None:
    """The PII class the catalog records for free text holding these kinds (`text:phone,id_card`), or None."""
    found = set(kinds)
    return IN_TEXT + ",".join(k for k in KINDS if k in found) if found else None


def kinds_of_class(pii: str | None) -> list[TextKind]:
    """The kinds a catalog class `text:...` names (empty for any other class)."""
    if pii is None or not pii.startswith(IN_TEXT):
        return []
    names = set(pii[len(IN_TEXT) :].split(","))
    return [k for k in KINDS if k in names]


def replace_spans(text: str, spans: list[Span], render: Callable[[Span, str], str]) -> str:
    """`text` with every span replaced by `render(span, the span's text)`; spans as `find_spans` gives them."""
    if not spans:
        return text
    parts, last = [], 0
    for span in spans:
        parts.append(text[last : span.start])
        parts.append(render(span, text[span.start : span.end]))
        last = span.end
    parts.append(text[last:])
    return "".join(parts)


def is_bank_card(value: str) -> bool:
    """A card number: a network's prefix and length, Luhn, and not a valid resident ID number."""
    digits = _NOISE.sub("", fold_width(value))
    if not (digits.isascii() and digits.isdigit()):
        return False
    network = any(
        digits.startswith(prefixes) and len(digits) in lengths for prefixes, lengths in _NETWORKS
    ) or (len(digits) == 16 and 2221 <= int(digits[:4]) <= 2720)
    return network and luhn_valid(digits) and parse_id_card(digits) is None


def luhn_valid(digits: str) -> bool:
    """The Luhn (mod 10) check used by payment cards (False for anything but ASCII digits)."""
    if not (digits.isascii() and digits.isdigit()):
        return False
    total = 0
    for k, char in enumerate(reversed(digits)):
        d = int(char) * (2 if k % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def _mobile(value: str) -> bool:
    canonical = normalize_phone(value)
    return canonical is not None and len(canonical) == 11 and canonical.isdigit()


def _landline(value: str) -> bool:
    canonical = normalize_phone(value)
    return canonical is not None and "-" in canonical


def _id_card(value: str) -> bool:
    return len(_NOISE.sub("", value)) == 18 and parse_id_card(value) is not None


_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def uscc_valid(code: str) -> bool:
    """A unified social credit code's check character (GB 32100-2015)."""
    code = code.upper()
    if len(code) != 18 or any(c not in _USCC_ALPHABET for c in code):
        return False
    total = sum(_USCC_ALPHABET.index(c) * w for c, w in zip(code, _USCC_WEIGHTS, strict=False))
    return _USCC_ALPHABET[(31 - total % 31) % 31] == code[17]


# Lengths of IBANs by country (ISO 13616 registry), for the countries a Chinese business meets most.
_IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AT": 20, "BE": 16, "BH": 22, "CH": 21, "CY": 28, "CZ": 24, "DE": 22, "DK": 18,
    "EE": 20, "ES": 24, "FI": 18, "FR": 27, "GB": 22, "GR": 27, "HR": 21, "HU": 28, "IE": 22, "IL": 23,
    "IS": 26, "IT": 27, "KW": 30, "KZ": 20, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MT": 31,
    "NL": 18, "NO": 15, "PK": 24, "PL": 28, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24, "SE": 24,
    "SI": 19, "SK": 24, "TR": 26, "UA": 29,
}  # fmt: skip


def iban_valid(value: str) -> bool:
    """An IBAN of its country's length passing the mod-97 check."""
    iban = value.replace(" ", "").upper()
    if _IBAN_LENGTHS.get(iban[:2]) != len(iban) or not iban.isalnum():
        return False
    digits = "".join(str(int(c, 36)) for c in iban[4:] + iban[:4])
    return int(digits) % 97 == 1


def _international_phones(text: str) -> list[Span]:
    import phonenumbers

    found = []
    for match in phonenumbers.PhoneNumberMatcher(text, "ZZ", leniency=phonenumbers.Leniency.VALID):
        if match.number.country_code != 86 and text[match.start] in "+＋":
            found.append(Span("intl_phone", match.start, match.end))
    return found


VALIDATE: dict[TextKind, Callable[[str], bool]] = {
    "email": lambda v: normalize_email(v) is not None,
    "id_card": _id_card,
    "uscc": uscc_valid,
    "bank_card": is_bank_card,
    "iban": iban_valid,
    "phone": _mobile,
    "landline": _landline,
    "passport": lambda v: True,  # the word before it is the check (see the pattern)
}
