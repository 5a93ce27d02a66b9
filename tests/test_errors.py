"""Error codes: one enumeration, each code with its HTTP status, and no code outside it in the codebase."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from zhongtai.errors import ErrorCode, ZhongtaiError

pytestmark = pytest.mark.unit
SRC = Path(__file__).resolve().parents[1] / "src" / "zhongtai"


def _codes_in_source() -> list[tuple[str, int, str]]:
    """(file, line, code) of every literal code given to ZhongtaiError or ErrorCode in src/."""
    found = []
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            first = node.args[0]
            if name in {"ZhongtaiError", "ErrorCode"} and isinstance(first, ast.Constant):
                found.append((str(path.relative_to(SRC)), node.lineno, first.value))
    return found


def test_every_code_raised_in_the_codebase_is_a_member():
    found = _codes_in_source()
    assert len(found) > 50  # the scan really sees the call sites
    unknown = [f"{file}:{line} {code!r}" for file, line, code in found if code not in set(ErrorCode)]
    assert unknown == []


def test_every_member_has_a_status_and_only_internal_is_a_server_error():
    statuses = {code: code.status for code in ErrorCode}
    assert [code for code, status in statuses.items() if status >= 500 and code != "unavailable"] == [
        ErrorCode.INTERNAL
    ]
    assert all(400 <= status < 600 for status in statuses.values())


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("invalid_argument", 422),
        ("invalid_json", 400),
        ("not_found", 404),
        ("stale_build", 409),
        ("payload_too_large", 413),
        ("rate_limited", 429),
        ("internal", 500),
    ],
)
def test_codes_map_to_their_status(code, status):
    error = ZhongtaiError(code, "what went wrong", "what to do")
    assert (error.code, error.http_status) == (ErrorCode(code), status)
    assert error.to_dict() == {"code": code, "message": "what went wrong", "hint": "what to do"}


def test_an_unknown_code_is_refused_at_once():
    with pytest.raises(ValueError, match="'no_such_code' is not a valid ErrorCode"):
        ZhongtaiError("no_such_code", "message")
