"""Cleaning transforms as DuckDB SQL expressions, so a whole staged read is cleaned in one vectorized pass."""

from __future__ import annotations

from dataclasses import dataclass

# Full-width ASCII (U+FF01..U+FF5E) maps to ASCII 0x21..0x7E; the ideographic space to a plain space.
_FULL = "".join(chr(c) for c in range(0xFF01, 0xFF5F)) + "\u3000"
_HALF = "".join(chr(c) for c in range(0x21, 0x7F)) + " "
_BLANKS = " \t\r\n\u3000"
# Formats tried in order by `date`; day-first and month-first slashes are ambiguous, so neither is guessed.
DATE_FORMATS = (
    "%Y-%m-%d",
    "%Y/%m/%d",
    "%Y.%m.%d",
    "%Y%m%d",
    "%Y年%m月%d日",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y/%m/%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M",
    "%Y-%m-%d %H:%M:%S.%f",
    "%Y-%m-%dT%H:%M:%S.%f",
)
_STRING_TYPES = ("VARCHAR",)
_DATE_LIKE = ("DATE", "TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S")


def literal(value: object) -> str:
    """A SQL literal for a spec value (strings quoted, numbers and booleans as written)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def halfwidth(expr: str) -> str:
    return f"translate({expr}, {literal(_FULL)}, {literal(_HALF)})"


def _trim(expr: str) -> str:
    return f"trim({expr}, {literal(_BLANKS)})"


def _phone(expr: str) -> str:
    # Separators and full-width digits go; a mainland mobile behind +86/0086/86 keeps its 11 digits.
    digits = f"regexp_replace({halfwidth(expr)}, '[\\s\\-().（）]', '', 'g')"
    return f"nullif(regexp_replace({digits}, '^(\\+86|0086|86)(1[3-9][0-9]{{9}})$', '\\2'), '')"


def _email(expr: str) -> str:
    return f"nullif(lower({_trim(halfwidth(expr))}), '')"


_STRING_STEPS = {
    "trim": _trim,
    "halfwidth": halfwidth,
    "lower": lambda e: f"lower({e})",
    "upper": lambda e: f"upper({e})",
    "phone": _phone,
    "email": _email,
}


@dataclass(frozen=True)
class CleanedColumn:
    """SQL for one cleaned column: the text before date parsing, and the final value."""

    name: str
    text: str  # after the string transforms (what a failed date parse reports)
    value: str  # the cleaned value
    parses_date: bool


def clean_column(name: str, column_sql: str, duck_type: str, transforms: list[str]) -> CleanedColumn:
    """Compose the field's transforms, in the order the spec lists them, into SQL over `column_sql`."""
    string_steps = [t for t in transforms if t != "date"]
    text = column_sql
    if string_steps and duck_type not in _STRING_TYPES:
        text = f"CAST({column_sql} AS VARCHAR)"  # a phone number read as a number is still a phone number
    for step in string_steps:
        text = _STRING_STEPS[step](text)
    if "date" not in transforms:
        return CleanedColumn(name, text, text, False)
    if not string_steps and duck_type in _DATE_LIKE:
        return CleanedColumn(name, text, f"CAST({text} AS DATE)", False)
    if not string_steps and duck_type not in _STRING_TYPES:
        text = f"CAST({column_sql} AS VARCHAR)"
    # Blank text is a missing value, not a bad date; anything else that does not parse is quarantined.
    text = f"nullif({_trim(text)}, '')"
    formats = "[" + ", ".join(literal(f) for f in DATE_FORMATS) + "]"
    value = f"CAST(coalesce(try_strptime({text}, {formats}), TRY_CAST({text} AS TIMESTAMP)) AS DATE)"
    return CleanedColumn(name, text, value, True)
