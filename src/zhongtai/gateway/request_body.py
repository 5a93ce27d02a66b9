"""The one reader of JSON request bodies: every route that takes a body reads it here, under the same limits.

A caller's mistake or hostility must cost little and answer a 4xx {code, message, hint}, never a 500:
- size: a declared Content-Length over the limit is refused before a byte is read; a chunked body (or one
  that lies about its length) is counted while it streams and dropped at the limit (413);
- strict JSON: UTF-8 only, no NaN / Infinity literals, no lone surrogates (400); they would be stored as
  invalid JSON or break the stores that encode text;
- shape: nesting deeper than the limit, or a string longer than the limit, is a 422. Depth is measured on
  the raw bytes before the parser runs (the parser recurses once per level, so a 5,000-deep body must never
  reach it).
Messages name the position or the JSON path of a problem, never the value: it may be personal data.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from itertools import accumulate
from typing import Any, NoReturn

from starlette.requests import Request

from zhongtai.config import Settings
from zhongtai.errors import ErrorCode, ZhongtaiError

# A JSON string (the unrolled loop: linear, no backtracking); an unterminated one runs to the end of the body,
# so a failed match never restarts at a later quote (the parser refuses such a body anyway).
_STRING = re.compile(rb'("[^"\\]*(?:\\.[^"\\]*)*"?)', re.DOTALL)
_NOT_BRACKET = re.compile(rb"[^\[\]{}]+")
_DEPTH_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}
_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_MAX_DIGITS = 64
_SEND_OBJECT = "send one JSON object; GET /docs shows the body each route takes"


@dataclass(frozen=True)
class BodyLimits:
    """How large, how deep and how long a request body may be."""

    max_bytes: int
    max_depth: int
    max_string_chars: int

    @classmethod
    def from_settings(cls, settings: Settings) -> BodyLimits:
        """The limits configured by ZT_MAX_BODY_BYTES, ZT_MAX_JSON_DEPTH and ZT_MAX_STRING_CHARS."""
        return cls(settings.max_body_bytes, settings.max_json_depth, settings.max_string_chars)


async def json_object(request: Request) -> dict[str, Any]:
    """The request body as a JSON object, within the app's `BodyLimits` (request.app.state.body_limits)."""
    limits: BodyLimits = request.app.state.body_limits
    raw = await _read(request, limits.max_bytes)
    return parse_object(raw, limits)


def parse_object(raw: bytes, limits: BodyLimits) -> dict[str, Any]:
    """Parse and check a body already read; ZhongtaiError names what is wrong and where."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _invalid_json(f"the request body is not UTF-8 (byte {exc.start})") from None
    longest = _check_depth(raw, limits.max_depth)
    try:
        body = json.loads(
            text, parse_constant=_refuse_constant, parse_float=_finite_float, parse_int=_bounded_int
        )
    except json.JSONDecodeError as exc:
        raise _invalid_json(
            f"the request body is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from None
    if not isinstance(body, dict):
        raise ZhongtaiError(
            ErrorCode.INVALID_ARGUMENT,
            f"the request body must be a JSON object, got {_json_type(body)}",
            _SEND_OBJECT,
        )
    # A string has no more characters than its raw token has bytes, and a lone surrogate needs a
    # \uD800-\uDFFF escape in the body: most bodies need no walk at all.
    if longest > limits.max_string_chars or _SURROGATE_ESCAPE.search(raw) is not None:
        _check_strings(body, limits.max_string_chars)
    return body


async def _read(request: Request, max_bytes: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise _invalid_json("the Content-Length header is not a number of bytes")
        if int(declared) > max_bytes:
            raise _too_large(max_bytes)
    chunks = []
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > max_bytes:
            raise _too_large(max_bytes)
        chunks.append(chunk)
    return b"".join(chunks)


def _check_depth(raw: bytes, max_depth: int) -> int:
    """Refuse nesting deeper than `max_depth`; returns the byte length of the longest string token."""
    # Brackets inside strings do not nest; what is left is a run of brackets whose running sum is the depth.
    parts = _STRING.split(raw)  # outside, string, outside, string, ... (the pattern captures)
    brackets = _NOT_BRACKET.sub(b"", b"".join(parts[0::2]))
    if brackets and max(accumulate(_DEPTH_STEP[b] for b in brackets)) > max_depth:
        raise ZhongtaiError(
            ErrorCode.INVALID_ARGUMENT,
            f"the request body nests arrays or objects more than {max_depth} levels deep",
            "flatten the request: inputs and context are a few levels at most",
        )
    return max(map(len, parts[1::2]), default=2) - 2


def _check_strings(body: dict[str, Any], max_chars: int) -> None:
    # Iterative, not recursive. A first pass only looks; the JSON path is worked out when something is wrong.
    pending: list[Any] = [body]
    while pending:
        value = pending.pop()
        if isinstance(value, dict):
            if any(_bad_string(key, max_chars) for key in value):
                break
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
        elif isinstance(value, str) and _bad_string(value, max_chars):
            break
    else:
        return
    _name_bad_string(body, max_chars)


def _bad_string(value: str, max_chars: int) -> bool:
    return len(value) > max_chars or _SURROGATE.search(value) is not None


def _name_bad_string(body: dict[str, Any], max_chars: int) -> None:
    pending: list[tuple[str, Any]] = [("$", body)]
    while pending:
        path, value = pending.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                _check_string(key, f"a key in {path}", max_chars)
                # A name is shown as it is; a key that may be data (a phone number, free text) is not.
                pending.append((f"{path}.{key}" if _NAME.fullmatch(key) else f"{path}[<key>]", item))
        elif isinstance(value, list):
            pending.extend((f"{path}[{index}]", item) for index, item in enumerate(value))
        elif isinstance(value, str):
            _check_string(value, path, max_chars)


def _check_string(value: str, where: str, max_chars: int) -> None:
    if len(value) > max_chars:
        raise ZhongtaiError(
            ErrorCode.INVALID_ARGUMENT,
            f"{where}: the string is {len(value)} characters long, more than the limit of {max_chars}",
            "send long text through a dataset, not a request",
        )
    if _SURROGATE.search(value) is not None:
        raise _invalid_json(
            f"{where}: the string holds a lone UTF-16 surrogate (a \\ud800-\\udfff escape without its pair)"
        )


def _refuse_constant(name: str) -> NoReturn:
    raise _invalid_json(f"the request body holds {name}, which is not JSON (only finite numbers are)")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e400: valid JSON syntax, but no float holds it
        raise ZhongtaiError(
            ErrorCode.INVALID_ARGUMENT,
            "the request body holds a number too large for a float",
            "send numbers within ±1.7e308",
        )
    return value


def _bounded_int(text: str) -> int:
    if len(text) > _MAX_DIGITS:  # int() of thousands of digits is slow, then refused by Python itself
        raise ZhongtaiError(
            ErrorCode.INVALID_ARGUMENT,
            f"the request body holds a number of more than {_MAX_DIGITS} digits",
            "send long identifiers as strings",
        )
    return int(text)


def _json_type(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    return "null" if value is None else "a number"


def _invalid_json(message: str) -> ZhongtaiError:
    return ZhongtaiError(ErrorCode.INVALID_JSON, message, _SEND_OBJECT)


def _too_large(max_bytes: int) -> ZhongtaiError:
    return ZhongtaiError(
        ErrorCode.PAYLOAD_TOO_LARGE,
        f"the request body is larger than {max_bytes} bytes",
        "send fewer rows per request (the limit is ZT_MAX_BODY_BYTES)",
    )
