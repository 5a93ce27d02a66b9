"""Phone numbers: mainland mobiles and landlines in every common writing, and foreign numbers.

Canonical forms:
- mainland mobile: 11 digits, `13812345678` (from `+86 138 1234 5678`, `0086-138-1234-5678`,
  `86 13812345678`, `(+86)138.1234.5678`, full-width digits, a dialled leading 0);
- mainland landline: area code with its leading 0, a dash, the local number: `010-12345678`,
  `0755-87654321` (from `(0755) 8765 4321`, `+86 21 6123 4567`, `021-61234567 ext 8001`);
- foreign: `+` and the digits (E.164-like), only when the writing says international (`+` or `00`) and the
  country code is not 86: `+1 (415) 555-2671` → `+14155552671`.

Extensions (`ext`, `x`, `转`, `分机`, `#`, or a trailing dashed group) are dropped. Anything else is None:
local numbers without an area code, letters, two numbers in one value, amounts like `1381234567.8`.
"""

from __future__ import annotations

import re
from typing import Literal

import pyarrow as pa
import pyarrow.compute as pc

from zhongtai.identity.normalize.text import SPACE_CLASS, as_string_array, fold_width, patch

PhoneKind = Literal["mobile", "landline", "foreign"]

SEPARATORS = SPACE_CLASS[:-1] + r".()\-]"  # whitespace, dots, brackets, dashes
_SEPARATORS = re.compile(SEPARATORS + "+")
_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_EXTENSION = re.compile(r"(?i)(?:ext\.?|x|转|分机|#)[ :：]*[0-9]*[ ]*\Z")
_AMOUNT = re.compile(r"[0-9]+\.[0-9]{1,2}")
_COMPACT = re.compile(r"\+?[0-9]+")
E164_DIGITS = (7, 15)  # shortest real national numbers plus country code, and the E.164 maximum


def normalize_phone(value: str | None) -> str | None:
    """The canonical form of a phone number (see the module doc), or None when missing or invalid."""
    if value is None:
        return None
    text = _EXTENSION.sub("", fold_width(value)).strip()
    if not text or _AMOUNT.fullmatch(text):
        return None
    groups = [g for g in _SEPARATORS.split(text) if g]
    compact = "".join(groups)
    if not _COMPACT.fullmatch(compact):
        return None
    found = _read(compact)
    if found is None and len(groups) >= 3 and len(groups[-1]) <= 5:
        found = _read("".join(groups[:-1]))  # 010-12345678-123: the last group was an extension
    return found


def phone_kind(value: str | None) -> PhoneKind | None:
    """'mobile', 'landline' or 'foreign' for a number that normalizes, else None."""
    canonical = normalize_phone(value)
    if canonical is None:
        return None
    if canonical.startswith("+"):
        return "foreign"
    return "landline" if "-" in canonical else "mobile"


def _read(compact: str) -> str | None:
    """Read digits with an optional leading +: the international prefix decides the country."""
    if compact.startswith("+"):
        return _international(compact[1:])
    if compact.startswith("00"):
        return _international(compact[2:])
    if compact.startswith("86") and len(compact) == 13 and _MOBILE.fullmatch(compact[2:]):
        return compact[2:]  # "86 13812345678": a bare country code is only safe before a mobile
    return _mainland(compact, after_country_code=False)


def _international(digits: str) -> str | None:
    if digits.startswith("86"):
        return _mainland(digits[2:], after_country_code=True)
    low, high = E164_DIGITS
    if low <= len(digits) <= high and not digits.startswith("0"):
        return "+" + digits
    return None


def _mainland(digits: str, after_country_code: bool) -> str | None:
    if _MOBILE.fullmatch(digits):
        return digits
    if digits.startswith("0") and _MOBILE.fullmatch(digits[1:]):
        return digits[1:]  # a mobile dialled with the trunk 0, as from another city
    if after_country_code and not digits.startswith("0"):
        digits = "0" + digits  # +86 21 ... drops the trunk 0 of the area code
    return _landline(digits)


def _landline(digits: str) -> str | None:
    """Area code (010, 02X, or 0 + three digits) and a 7-8 digit local number not starting with 0."""
    if len(digits) < 3 or digits[0] != "0":
        return None
    if digits[1:3] == "10" or digits[1] == "2":
        area = digits[:3]
    elif digits[1] in "3456789":
        area = digits[:4]
    else:
        return None
    local = digits[len(area) :]
    if len(local) in (7, 8) and local[0] != "0" and local.isdigit():
        return f"{area}-{local}"
    return None


def normalize_phone_array(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """`normalize_phone` over an Arrow array.

    Most values are mobiles written with spaces, dashes, +86 or full-width digits; pyarrow.compute folds
    those in C. Values with a dot (an amount?), letters, landlines and foreign numbers go to the scalar form.
    """
    values = as_string_array(values)
    folded = pc.utf8_normalize(values, "NFKC")
    compact = pc.replace_substring_regex(folded, SEPARATORS, "")
    compact = pc.replace_substring_regex(compact, r"^(?:\+|00)?86(1[3-9][0-9]{9})$", r"\1")
    mobile = pc.and_(
        pc.match_substring_regex(compact, r"^1[3-9][0-9]{9}$"),
        pc.invert(pc.match_substring(folded, ".")),
    )
    return patch(compact, mobile, values, normalize_phone)
