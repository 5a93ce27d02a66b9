"""Hostile or broken request bodies are 4xx {code, message, hint} on every JSON route, never a 500."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.capabilities.world import KNOWN_IDS
from zhongtai.config import Settings
from zhongtai.errors import ZhongtaiError
from zhongtai.gateway.request_body import BodyLimits, parse_object

pytestmark = pytest.mark.integration
DECIDE = "/v1/capabilities/churn-risk/decide"
ONLINE = "/v1/features/online"
PUSH = "/v1/features/customer_activity/push"
LIMITS = BodyLimits(max_bytes=1 << 20, max_depth=32, max_string_chars=1000)
SECRET = "13800138000"  # stands for personal data: no error message may quote it


def _error(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"code", "message", "hint"} and body["code"] == code, body
    assert SECRET not in response.text
    return body["message"]


@pytest.fixture(scope="module")
def admin_key(gateway) -> str:
    """A key every JSON route accepts (push needs the push or admin role)."""
    return gateway.world.store.access.create_key("hostile", ["admin"])


@pytest.mark.unit
@pytest.mark.parametrize(
    ("raw", "code", "message"),
    [
        (b'{"customer_id": "\\ud800"}', "invalid_json", "$.customer_id: the string holds a lone UTF-16"),
        (b'{"x": "\\udc00' + SECRET.encode() + b'"}', "invalid_json", "$.x: the string holds a lone"),
        (b'{"c": {"\\ud800": 1}}', "invalid_json", "a key in $.c: the string holds a lone"),
        (b'{"x": NaN}', "invalid_json", "holds NaN, which is not JSON"),
        (b'{"x": [-Infinity]}', "invalid_json", "holds -Infinity, which is not JSON"),
        (b'{"x": 1e400}', "invalid_argument", "a number too large for a float"),
        (b'{"x": ' + b"9" * 65 + b"}", "invalid_argument", "a number of more than 64 digits"),
        (b'{"x": "\xff\xfe"}', "invalid_json", "the request body is not UTF-8 (byte 7)"),
        (b'{"customer_id": ', "invalid_json", "not valid JSON: Expecting value at line 1, column 17"),
        (b"[" * 5000 + b"]" * 5000, "invalid_argument", "nests arrays or objects more than 32 levels"),
        (b'{"a":' * 33 + b"1" + b"}" * 33, "invalid_argument", "more than 32 levels deep"),
        (b"[" * 100_000, "invalid_argument", "more than 32 levels deep"),
        (b'{"x": "' + b"a" * 1001 + b'"}', "invalid_argument", "$.x: the string is 1001 characters long"),
        (b'{"' + SECRET.encode() + b'": ["' + b"a" * 1001 + b'"]}', "invalid_argument", "$[<key>][0]:"),
        (b"[1, 2]", "invalid_argument", "must be a JSON object, got an array"),
    ],
)
def test_bodies_that_are_refused(raw, code, message):
    with pytest.raises(ZhongtaiError, match=re.escape(message)) as caught:
        parse_object(raw, LIMITS)
    assert (caught.value.code, caught.value.hint is not None) == (code, True)
    assert SECRET not in caught.value.message


@pytest.mark.unit
def test_brackets_inside_strings_do_not_count_as_nesting():
    deep_looking = '{"note": "' + "[{" * 100 + '\\" ]]", "ok": [[1]]}'
    assert parse_object(deep_looking.encode(), LIMITS)["ok"] == [[1]]
    assert parse_object(b'{"a": {"b": [1, 2.5, "\\ud83d\\ude00"]}}', LIMITS) == {"a": {"b": [1, 2.5, "😀"]}}
    exactly = b'{"a":' * 31 + b"[1]" + b"}" * 31
    assert parse_object(exactly, LIMITS)


@pytest.mark.unit
def test_limits_come_from_the_environment():
    settings = Settings.from_env(
        {"ZT_HOME": "/tmp/zt", "ZT_MAX_BODY_BYTES": "2048", "ZT_MAX_JSON_DEPTH": "8"}
    )
    assert BodyLimits.from_settings(settings) == BodyLimits(2048, 8, 65_536)
    with pytest.raises(ZhongtaiError, match="ZT_MAX_BODY_BYTES must be a positive whole number"):
        Settings.from_env({"ZT_MAX_BODY_BYTES": "1MB"})


@pytest.mark.parametrize("route", [DECIDE, ONLINE, PUSH])
@pytest.mark.parametrize(
    ("raw", "status", "code"),
    [
        (b'{"customer_id": "\\ud800"}', 400, "invalid_json"),
        (b"[" * 5000 + b"]" * 5000, 422, "invalid_argument"),
        (b'{"customer_id": "1", "context": {"x": NaN}}', 400, "invalid_json"),
        (b'{"customer_id": "1", "context": {"x": Infinity}}', 400, "invalid_json"),
    ],
)
def test_every_json_route_refuses_hostile_bodies(gateway, admin_key, route, raw, status, code):
    headers = {"Authorization": f"Bearer {admin_key}", "Content-Type": "application/json"}
    _error(httpx.post(f"{gateway.url}{route}", content=raw, headers=headers), status, code)


@pytest.mark.parametrize("route", [DECIDE, ONLINE, PUSH])
def test_a_body_over_the_limit_is_413_with_or_without_a_length(gateway, admin_key, route):
    headers = {"Authorization": f"Bearer {admin_key}", "Content-Type": "application/json"}
    big = b'{"customer_id": "1", "context": {"x": "' + b"a" * (2 << 20) + b'"}}'
    declared = httpx.post(f"{gateway.url}{route}", content=big, headers=headers)
    assert "larger than 1048576 bytes" in _error(declared, 413, "payload_too_large")

    def chunks():
        for start in range(0, len(big), 65_536):
            yield big[start : start + 65_536]

    streamed = httpx.post(f"{gateway.url}{route}", content=chunks(), headers=headers)
    assert "larger than 1048576 bytes" in _error(streamed, 413, "payload_too_large")


def test_context_must_be_an_object(client):
    response = client.post(DECIDE, json={"customer_id": KNOWN_IDS[3], "context": [SECRET]})
    assert "field 'context' must be a JSON object" in _error(response, 422, "invalid_argument")


def test_a_normal_decision_still_answers(client):
    response = client.post(DECIDE, json={"customer_id": KNOWN_IDS[3], "context": {"x": "[{"}})
    assert response.status_code == 200, response.text
