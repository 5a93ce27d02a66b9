"""Where in a file a read went wrong, said without the data.

pyarrow reports a bad CSV value or row with its text and without a line number, and a malformed JSON line as
a type change somewhere in a block. Values may be personal data (a resident ID, a phone), so these texts
never reach a user, a log or the metadata store. Instead, on the error path only, the file is scanned again,
streamed line by line, for the first line at fault; the error names the file, the line, the column and the
kind of problem. Encodings are checked the same way: a sample of each file is tried as UTF-8 before pyarrow
reads it, and a file that is not gets a guess at what it is and the spec line that declares it.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections import deque
from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from zhongtai.errors import SourceError, ZhongtaiError

SAMPLE_BYTES = 64 << 10
_CHUNK_ROWS = 10_000
# The platform's data is mostly Chinese: when a sample decodes in several of these, the national standard
# wins over a Korean or Japanese code page that happens to accept the same bytes.
_PREFERRED = ("gb18030", "big5", "utf_16", "utf_32")
_JSON_KINDS = {bool: "bool", int: "int64", float: "float64", str: "string", dict: "object", list: "list"}


def is_utf8(encoding: str) -> bool:
    """True for every spelling of UTF-8 (`utf8`, `UTF-8`, `utf_8`)."""
    return codec_name(encoding) == "utf-8"


def codec_name(encoding: str) -> str:
    """Python's name for an encoding; an unknown one is an error naming it."""
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        raise ZhongtaiError(
            "invalid_spec",
            f"csv.encoding '{encoding}' is not an encoding Python knows",
            "use a name like utf8, gb18030, gbk, big5 or latin-1",
        ) from None


def check_utf8_sample(handle: Any, origin: str, declare: str | None) -> None:
    """Raise an `encoding` error if the first SAMPLE_BYTES of the file are not UTF-8.

    `handle` is a binary file at its start; `origin` names the file. `declare` is where the spec declares
    the encoding (`csv`), or None where UTF-8 is the only choice (JSON lines).
    """
    sample = handle.read(SAMPLE_BYTES)
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=len(sample) < SAMPLE_BYTES)
    except UnicodeDecodeError as exc:
        line = sample.count(b"\n", 0, exc.start) + 1
        raise encoding_error(origin, line, "UTF-8", guess(sample), declare) from None


def guess(sample: bytes) -> str | None:
    """What a sample's encoding looks like (charset detection), or None when nothing fits."""
    from charset_normalizer import from_bytes

    matches = [m.encoding for m in from_bytes(sample)]
    for preferred in _PREFERRED:
        if preferred in matches:
            return preferred
    return matches[0] if matches else None


def encoding_error(
    origin: str, line: int | None, expected: str, looks_like: str | None, declare: str | None
) -> ZhongtaiError:
    """The file is not in the encoding it was read with: say where, what it looks like, how to declare it."""
    message = f"{at_line(origin, line)}: not {expected}"
    if looks_like:
        message += f"; the file looks like {looks_like}"
    if declare is None:
        hint = "JSON lines must be UTF-8: convert the file"
        if looks_like:
            hint += f" (iconv -f {looks_like} -t utf-8)"
    elif looks_like:
        hint = f"declare the file's encoding in the dataset spec: `{declare}: {{encoding: {looks_like}}}`"
    else:
        hint = f"declare the file's encoding in the dataset spec: `{declare}: {{encoding: ...}}`"
    return SourceError(message, hint)


def undecodable_line(handle: Any, encoding: str) -> tuple[int, bytes] | None:
    """The first line (1-based) that does not decode, with a sample of the bytes around it for a guess."""
    decoder = codecs.getincrementaldecoder(encoding)()
    before: deque[bytes] = deque(maxlen=50)
    for number, raw in enumerate(handle, start=1):
        before.append(raw)
        try:
            decoder.decode(raw)
        except UnicodeDecodeError:
            around = list(before)
            for more in handle:  # a little after the line too: a guess needs enough bytes
                around.append(more)
                if sum(map(len, around)) > SAMPLE_BYTES:
                    break
            return number, b"".join(around)
    return None


def csv_rows(handle: Any, encoding: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) of each non-empty CSV row, as pyarrow sees them (empty lines skipped)."""
    text = io.TextIOWrapper(handle, encoding=encoding, newline="")
    reader = csv.reader(text, delimiter=delimiter)
    for row in reader:
        if row:
            yield reader.line_num, row


def csv_width_line(rows: Iterator[tuple[int, list[str]]]) -> tuple[int, int, int] | None:
    """The first row whose field count differs from the first row's: (line, fields, expected)."""
    expected: int | None = None
    for line, row in rows:
        if expected is None:
            expected = len(row)
        elif len(row) != expected:
            return line, len(row), expected
    return None


def csv_value_line(
    rows: Iterator[tuple[int, list[str]]], index: int, arrow: pa.DataType, header: bool, nulls: list[str]
) -> int | None:
    """The first line whose field `index` holds a value that is not null and does not convert to `arrow`."""
    chunk: list[tuple[int, str]] = []
    null_set = set(nulls)
    for position, (line, row) in enumerate(rows):
        if header and position == 0:
            continue
        if index < len(row) and row[index] not in null_set:
            chunk.append((line, row[index]))
        if len(chunk) >= _CHUNK_ROWS:
            found = _first_unconvertible(chunk, arrow)
            if found is not None:
                return found
            chunk = []
    return _first_unconvertible(chunk, arrow)


def _first_unconvertible(chunk: list[tuple[int, str]], arrow: pa.DataType) -> int | None:
    if not chunk or _converts([value for _, value in chunk], arrow):
        return None
    return next((line for line, value in chunk if not _converts([value], arrow)), None)


def _converts(values: list[str], arrow: pa.DataType) -> bool:
    try:
        pa.array(values, pa.string()).cast(arrow)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return False
    return True


def json_problem(handle: Any, column: str | None = None) -> tuple[int, str] | None:
    """The first line of a JSON-lines file that is malformed, or (given `column`) whose value for it has
    another kind than the lines before: (line, what is wrong)."""
    first: str | None = None
    for number, raw in enumerate(handle, start=1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except ValueError:
            return number, "not a complete JSON record (truncated or malformed)"
        if not isinstance(record, dict):
            return number, "not a JSON object"
        value = record.get(column) if column is not None else None
        if value is None:
            continue
        kind = _JSON_KINDS.get(type(value), type(value).__name__)
        if first is None:
            first = kind
        elif kind != first and {kind, first} != {"int64", "float64"}:
            return number, f"column '{column}' was {first} and is now {kind}"
    return None


def at_line(origin: str, line: int | None) -> str:
    """`origin line N`, or just `origin` when the line is not known."""
    return f"{origin} line {line}" if line else origin
