"""Resident identity card numbers (GB 11643-1999): validated, upper-case X, 15-digit numbers upgraded.

An 18-character number is six digits of region (GB/T 2260), eight of birth date, three of sequence (odd
for men) and a check character: the sum of the first 17 digits times 7,9,10,5,8,4,2,1,6,3,7,9,10,5,8,4,2,
mod 11, indexes '10X98765432'. A 15-digit number (issued before 1999) has a two-digit year and no check
character; it becomes 18 by inserting '19' and computing the check. The region is checked for shape only
(a province code from 11 to 82): codes are retired and renamed, and old cards stay valid.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from zhongtai.identity.normalize.text import SPACE_CLASS, as_string_array, fold_width, patch

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK = "10X98765432"
EARLIEST_BIRTH = date(1900, 1, 1)
NOISE = SPACE_CLASS[:-1] + r"\-]"  # whitespace and dashes inside the number
DAYS_IN_MONTH = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_NOISE = re.compile(NOISE)
_SHAPE_18 = re.compile(r"[1-8][0-9]{16}[0-9X]")
_SHAPE_15 = re.compile(r"[1-8][0-9]{14}")


@dataclass(frozen=True)
class IdCard:
    """What a valid resident ID number says about its holder."""

    number: str
    birth_date: date
    gender: Literal["M", "F"]
    region_code: str  # six digits: province, prefecture, county of first registration


def check_character(body: str) -> str:
    """The GB 11643 check character of a 17-digit body."""
    return CHECK[sum(int(d) * w for d, w in zip(body, WEIGHTS, strict=True)) % 11]


def normalize_id_card(value: str | None) -> str | None:
    """The 18-character number with an upper-case X, or None when missing or invalid."""
    card = parse_id_card(value)
    return card.number if card else None


def parse_id_card(value: str | None, today: date | None = None) -> IdCard | None:
    """Parse and validate an ID number: shape, region, birth date (1900..today), check character."""
    if value is None:
        return None
    text = _NOISE.sub("", fold_width(value).replace("x", "X"))
    if _SHAPE_15.fullmatch(text):
        body = text[:6] + "19" + text[6:]
        text = body + check_character(body)
    elif not _SHAPE_18.fullmatch(text) or check_character(text[:17]) != text[17]:
        return None
    born = _birth_date(text[6:14], today or date.today())
    if born is None or not _region_ok(text[:6]):
        return None
    return IdCard(text, born, "M" if int(text[16]) % 2 else "F", text[:6])


def _birth_date(digits: str, today: date) -> date | None:
    try:
        born = date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        return None
    return born if EARLIEST_BIRTH <= born <= today else None


def _region_ok(region: str) -> bool:
    # Province codes run 11..82 (Beijing .. Macau); the prefecture and county parts are not all zero
    # except for a province-level registration, which is allowed.
    return 11 <= int(region[:2]) <= 82


def normalize_id_card_array(values: pa.Array | pa.ChunkedArray, today: date | None = None) -> pa.Array:
    """`normalize_id_card` over an Arrow array.

    Well-shaped 18-character numbers are checked in numpy (check character, province, birth date);
    only 15-digit numbers go to the scalar form.
    """
    today = today or date.today()
    values = as_string_array(values)
    text = pc.replace_substring(pc.utf8_normalize(values, "NFKC"), "x", "X")
    text = pc.replace_substring_regex(text, NOISE, "")
    shaped = pc.fill_null(pc.match_substring_regex(text, r"^[1-8][0-9]{16}[0-9X]$"), False)
    shaped_np = shaped.to_numpy(zero_copy_only=False)
    valid = np.zeros(len(text), dtype=bool)
    candidates = np.flatnonzero(shaped_np)
    if len(candidates):
        valid[candidates] = _valid_many(pc.take(text, pa.array(candidates)).to_pylist(), today)
    legacy = pc.fill_null(pc.match_substring_regex(text, r"^[0-9]{15}$"), False)
    fast = pc.if_else(pa.array(valid), text, pa.scalar(None, pa.string()))
    return patch(fast, pc.invert(legacy), values, lambda v: _at(v, today))


def _at(value: str | None, today: date) -> str | None:
    card = parse_id_card(value, today)
    return card.number if card else None


def _valid_many(numbers: list[str], today: date) -> np.ndarray:
    """Check character, province and birth date of well-shaped 18-character numbers, in numpy."""
    raw = np.frombuffer("".join(numbers).encode("ascii"), dtype=np.uint8).reshape(-1, 18)
    digits = raw[:, :17].astype(np.int64) - ord("0")
    expected = np.frombuffer(CHECK.encode("ascii"), dtype=np.uint8)[(digits @ np.array(WEIGHTS)) % 11]
    province = digits[:, 0] * 10 + digits[:, 1]
    year = digits[:, 6:10] @ np.array([1000, 100, 10, 1])
    month = digits[:, 10] * 10 + digits[:, 11]
    day = digits[:, 12] * 10 + digits[:, 13]
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    month_days = np.array(DAYS_IN_MONTH)[np.clip(month, 1, 12) - 1] + ((month == 2) & leap)
    stamp = year * 10000 + month * 100 + day
    ok = (expected == raw[:, 17]) & (province >= 11) & (province <= 82)
    ok &= (month >= 1) & (month <= 12) & (day >= 1) & (day <= month_days)
    low = EARLIEST_BIRTH.year * 10000 + 101
    return ok & (stamp >= low) & (stamp <= today.year * 10000 + today.month * 100 + today.day)
