"""Entity keys at the edge: the key a caller sends, checked and written as the platform writes it.

The same rules as the gateway (the platform's features/keys.py): an integer or a non-blank string per join
key; an `int64` key also as a string of at most 18 digits, in its canonical form; a composite key as a list;
a number with a fraction, a boolean or an object refused with the field named and the value never quoted.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from .errors import EdgeError

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
# As text, an int64 key has at most 18 significant digits: every such string fits, so the rule is a pattern
# (the same one the platform's OpenAPI document states) rather than a range check after parsing.
INT64_TEXT = re.compile(r"[+-]?0*[0-9]{1,18}")
# What counts as blank, spelled out so that the OpenAPI pattern and this check agree character for character.
SPACES = " \t\n\r\f\v\u00a0\u3000"
_BLANK = re.compile(f"[{SPACES}]*")
_KINDS = {float: "a decimal number", dict: "an object", list: "a list", bool: "a boolean"}


def checked_key(value: Any, field: str, join_keys: Sequence[str], key_types: Sequence[str]) -> str:
    """The store key for `value`, sent in `field` (a list for a composite key); EdgeError names the field."""
    samples = ["100005" if t == "int64" else '"100005"' for t in key_types]
    hint = f'send {{"{field}": {samples[0] if len(samples) == 1 else "[" + ", ".join(samples) + "]"}}}'
    if isinstance(value, list):
        if len(value) != len(join_keys):
            raise EdgeError(
                "invalid_argument",
                f"field '{field}' needs {len(join_keys)} value(s) ({', '.join(join_keys)}), got {len(value)}",
                hint,
            )
        return "|".join(
            key_part(part, f"{field}[{i}]", join_keys[i], key_types[i], hint) for i, part in enumerate(value)
        )
    if len(join_keys) > 1 and value is not None:
        raise EdgeError(
            "invalid_argument",
            f"field '{field}' must be a list of {len(join_keys)} values ({', '.join(join_keys)})",
            hint,
        )
    return key_part(value, field, join_keys[0], key_types[0], hint)


def key_part(value: Any, where: str, join_key: str, key_type: str, hint: str) -> str:
    """One join key's value in its canonical text (the platform's features/keys.py checks with it too)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # JSON has one kind of number: 103216.0 is the integer 103216
    if value is None:
        problem = "is required"
    elif isinstance(value, bool) or not isinstance(value, int | str):
        got = _KINDS.get(type(value), "another kind of value")
        problem = f"must be {'an integer' if key_type == 'int64' else 'a string or an integer'}, not {got}"
    elif isinstance(value, int):
        if not INT64_MIN <= value <= INT64_MAX:
            problem = "is out of the int64 range"
        else:
            return str(value)
    elif _BLANK.fullmatch(value):
        problem = "is blank"
    elif key_type == "string":
        return value
    elif not INT64_TEXT.fullmatch(value):
        problem = "must be an integer or a string of at most 18 digits"
    else:
        return str(int(value))
    declared = f" (join key {join_key} is declared {key_type})" if key_type != "string" else ""
    raise EdgeError("invalid_argument", f"field '{where}' {problem}{declared}", hint)
