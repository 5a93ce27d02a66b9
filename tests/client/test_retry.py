"""Retries of the SDK against a tiny scripted HTTP server: connection errors, 429 and 503 are retried with
the same Idempotency-Key (Retry-After honoured), nothing else is; every error carries the API's fields."""

from __future__ import annotations

import asyncio
import socket
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from tests.client.scripted_server import DROP, scripted
from zhongtai.client import (
    ApiError,
    AsyncClient,
    Client,
    ConnectionFailed,
    InvalidRequest,
    RateLimited,
    Retry,
    ServerError,
    Unavailable,
)
from zhongtai.client.retry import parse_retry_after

pytestmark = pytest.mark.unit
FAST = Retry(attempts=4, backoff_s=0.01, max_backoff_s=0.05)
ANSWER = {
    "decision_id": "d-1",
    "capability": "churn-risk",
    "decision": "watch",
    "score": 0.42,
    "factors": [{"feature": "orders_90d", "value": 1, "contribution": 0.3}],
    "model": {"name": "churn", "version": 3},
    "fallback": False,
    "latency_ms": 0.5,
    "arm": "champion",
    "route": "billing",
}
BUSY = (503, {"Retry-After": "0"}, {"code": "unavailable", "message": "loading", "hint": "wait"})
LIMITED = (429, {"Retry-After": "0"}, {"code": "rate_limited", "message": "too many", "hint": None})


def test_429_and_503_are_retried_with_the_same_idempotency_key():
    with scripted(BUSY, LIMITED, (200, {}, ANSWER)) as (url, script), Client(url, "zt_k", retry=FAST) as zt:
        decision = zt.decide("churn-risk", customer_id=100005)
    assert (decision.decision, decision.score, decision.model.version) == ("watch", 0.42, 3)
    assert decision.arm == "champion" and decision.fallback_reason is None
    assert decision.output == {"route": "billing"}  # a field this SDK does not know is kept
    assert [s.path for s in script.seen] == ["/v1/capabilities/churn-risk/decide"] * 3
    keys = {s.headers["Idempotency-Key"] for s in script.seen}
    assert len(keys) == 1 and len(keys.pop()) >= 16
    assert {s.headers["Authorization"] for s in script.seen} == {"Bearer zt_k"}
    assert all(s.body == {"customer_id": 100005} for s in script.seen)


def test_a_dropped_connection_is_retried():
    with scripted(DROP, DROP, (200, {}, ANSWER)) as (url, script), Client(url, "k", retry=FAST) as zt:
        assert zt.decide("churn-risk", {"customer_id": 1}).decision_id == "d-1"
    assert len(script.seen) == 3
    assert len({s.headers["Idempotency-Key"] for s in script.seen}) == 1


def test_each_decide_gets_its_own_key_unless_one_is_given():
    with scripted((200, {}, ANSWER)) as (url, script), Client(url, "k") as zt:
        zt.decide("churn-risk", customer_id=1)
        zt.decide("churn-risk", customer_id=1)
        zt.decide("churn-risk", customer_id=1, idempotency_key="order-77")
    keys = [s.headers["Idempotency-Key"] for s in script.seen]
    assert keys[0] != keys[1] and keys[2] == "order-77"


@pytest.mark.parametrize(
    ("status", "kind"), [(400, InvalidRequest), (422, InvalidRequest), (404, ApiError), (500, ServerError)]
)
def test_other_errors_are_not_retried_and_carry_the_api_fields(status, kind):
    error = {"code": "invalid_argument", "message": "field 'customer_id' is missing", "hint": "send it"}
    with (
        scripted((status, {}, error)) as (url, script),
        Client(url, "k", retry=FAST) as zt,
        pytest.raises(kind, match="field 'customer_id' is missing") as raised,
    ):
        zt.decide("churn-risk", context={})
    assert len(script.seen) == 1
    assert (raised.value.status, raised.value.code, raised.value.hint) == (
        status,
        "invalid_argument",
        "send it",
    )


def test_retries_end_and_raise_the_last_answer():
    with (
        scripted(BUSY) as (url, script),
        Client(url, "k", retry=FAST) as zt,
        pytest.raises(Unavailable, match="503 unavailable: loading") as raised,
    ):
        zt.capabilities()
    assert len(script.seen) == FAST.attempts
    assert raised.value.retry_after == 0


def test_a_retry_after_longer_than_allowed_raises_at_once():
    limited = (429, {"Retry-After": "120"}, {"code": "rate_limited", "message": "slow down"})
    with (
        scripted(limited) as (url, script),
        Client(url, "k", retry=FAST) as zt,
        pytest.raises(RateLimited) as raised,
    ):
        zt.decide("churn-risk", customer_id=1)
    assert len(script.seen) == 1 and raised.value.retry_after == 120


def test_an_error_body_that_is_not_the_apis_still_raises_by_status():
    with (
        scripted((502, {}, "Bad gateway")) as (url, _),
        Client(url, "k", retry=FAST) as zt,
        pytest.raises(ServerError, match="502 http_502"),
    ):
        zt.decide("churn-risk", customer_id=1)


def test_an_unreachable_gateway_raises_connection_failed_after_every_try():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    retry = Retry(attempts=3, backoff_s=0.01)
    with (
        Client(f"http://127.0.0.1:{port}", "k", retry=retry) as zt,
        pytest.raises(ConnectionFailed, match="ConnectError after 3 tries") as raised,
    ):
        zt.decide("churn-risk", customer_id=1)
    assert isinstance(raised.value.__cause__, httpx.ConnectError)


def test_the_async_client_retries_the_same_way():
    async def main(url: str) -> str:
        async with AsyncClient(url, "k", retry=FAST) as zt:
            return (await zt.decide("churn-risk", customer_id=1)).decision_id

    with scripted(BUSY, DROP, (200, {}, ANSWER)) as (url, script):
        assert asyncio.run(main(url)) == "d-1"
    assert len(script.seen) == 3 and len({s.headers["Idempotency-Key"] for s in script.seen}) == 1


def test_waits_grow_exponentially_with_jitter_up_to_the_ceiling():
    retry = Retry(attempts=6, backoff_s=0.1, max_backoff_s=0.5)
    for attempt, ceiling in enumerate([0.1, 0.2, 0.4, 0.5, 0.5]):
        waits = [retry.wait(attempt) for _ in range(200)]
        assert all(ceiling / 2 <= w <= ceiling for w in waits), (attempt, min(waits), max(waits))
        assert len(set(waits)) > 1  # jittered
    assert retry.wait(5) is None
    assert Retry(attempts=1).wait(0) is None
    assert retry.wait(0, "3") == 3.0


def test_retry_after_is_read_as_seconds_or_an_http_date():
    assert parse_retry_after("7") == 7.0
    soon = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 <= parse_retry_after(soon) <= 30
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None
    with pytest.raises(ValueError, match="at least 1"):
        Retry(attempts=0)
