"""Shared text folding and the Arrow plumbing every normalizer uses.

Folding is NFKC (full-width ＡＢＣ１２３＠ and the ideographic space become ASCII) plus whitespace collapsing.
The Arrow helpers run a scalar normalizer once per distinct value: dictionary-encode, normalize the
dictionary, take. Identity columns repeat a lot (a family's phone, a city), and where they do not, the
normalizers put a pyarrow.compute fast path in front so only the unusual values reach Python.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

import pyarrow as pa
import pyarrow.compute as pc

# ASCII whitespace only, spelt out: Python's \s and RE2's \s disagree on Unicode spaces, and the scalar and
# Arrow forms must agree. NFKC has already turned the ideographic and no-break spaces into " ".
SPACE_CLASS = r"[ \t\n\r\f\x0b]"
_SPACES = re.compile(SPACE_CLASS + "+")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")

Normalizer = Callable[[str | None], str | None]


def fold_width(text: str) -> str:
    """NFKC: full-width letters, digits and punctuation become ASCII; compatibility forms are unified."""
    return unicodedata.normalize("NFKC", text)


def fold_spaces(text: str) -> str:
    """Runs of ASCII whitespace become one space; leading and trailing whitespace goes."""
    return _SPACES.sub(" ", text).strip(" ")


def fold(text: str) -> str:
    """Width and whitespace folding together: the first step of every normalizer."""
    return fold_spaces(fold_width(text))


def has_han(text: str) -> bool:
    """Whether the text contains a Chinese (Han) character."""
    return _HAN.search(text) is not None


def is_han(char: str) -> bool:
    """Whether one character is a Chinese (Han) character."""
    return _HAN.fullmatch(char) is not None


def as_string_array(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """One contiguous string array (large strings and chunks are accepted)."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if pa.types.is_dictionary(values.type):
        values = values.dictionary_decode()
    if not pa.types.is_string(values.type):
        values = values.cast(pa.string())
    return values


def map_unique(values: pa.Array | pa.ChunkedArray, normalize: Normalizer) -> pa.Array:
    """Apply a scalar normalizer to each distinct value once and spread the results back."""
    values = as_string_array(values)
    if len(values) == 0:
        return pa.array([], pa.string())
    encoded = pc.dictionary_encode(values)
    dictionary = encoded.dictionary.to_pylist()
    mapped = pa.array([normalize(v) for v in dictionary], pa.string())
    return pc.take(mapped, encoded.indices)


def patch(fast: pa.Array, done: pa.Array, original: pa.Array, normalize: Normalizer) -> pa.Array:
    """Keep `fast` where `done` is true; elsewhere run the scalar normalizer on `original`.

    This is how a vectorized fast path hands its leftovers (unusual writings) to the Python form.
    """
    done = pc.fill_null(done, False)
    todo = pc.invert(done)
    rest = pc.filter(original, todo)
    if len(rest) == 0:
        return fast
    return pc.replace_with_mask(fast, todo, map_unique(rest, normalize))
