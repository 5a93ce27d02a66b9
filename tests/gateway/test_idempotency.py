"""Idempotency-Key on a real gateway (SQLite and Redis online stores): a retry gets the first answer and the
decision log one record, in the same process and in another one sharing the stores; a reused key with
another body is a 409; a header that is not a key is a 422."""

from __future__ import annotations

import random
import string
import threading
import time
import uuid

import httpx
import pytest

from tests.capabilities.world import KNOWN_IDS
from tests.gateway.conftest import RunningGateway, start_gateway
from zhongtai.meta.records import DecisionRecord

pytestmark = pytest.mark.integration
DECIDE = "/v1/capabilities/churn-risk/decide"
BATCH = "/v1/capabilities/churn-risk/decide/batch"


def marker() -> str:
    """A value to find a test's decisions by in the log (letters only: nothing the PII scrubber rewrites)."""
    return "".join(random.choices(string.ascii_lowercase, k=16))


def records_marked(gateway: RunningGateway, mark: str) -> list[DecisionRecord]:
    """The logged decisions whose context carries the mark, once every earlier decision is written: a
    sentinel decided after them is logged last (one queue, one writer per gateway process)."""
    headers = {"Authorization": f"Bearer {gateway.key}"}
    sentinel = httpx.post(
        f"{gateway.url}{DECIDE}", json={"customer_id": KNOWN_IDS[0]}, headers=headers
    ).json()["decision_id"]
    store = gateway.world.store
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        logged = store.decisions.recent("churn-risk", limit=5000)
        if any(r.id == sentinel for r in logged):
            return [r for r in logged if (r.inputs.get("context") or {}).get("mark") == mark]
        time.sleep(0.05)
    raise AssertionError("the sentinel decision was not logged within 10 s")


def test_a_retry_gets_the_first_answer_and_one_log_record(gateway, client):
    mark = marker()
    body = {"customer_id": KNOWN_IDS[3], "context": {"mark": mark}}
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    first = client.post(DECIDE, json=body, headers=headers)
    again = client.post(DECIDE, json=body, headers=headers)
    assert first.status_code == again.status_code == 200, again.text
    assert again.json() == first.json()
    assert "idempotent-replayed" not in first.headers
    assert again.headers["idempotent-replayed"] == "true"
    # The same body under another key is a new decision.
    other = client.post(DECIDE, json=body, headers={"Idempotency-Key": str(uuid.uuid4())})
    assert other.json()["decision_id"] != first.json()["decision_id"]
    logged = records_marked(gateway, mark)
    assert sorted(r.id for r in logged) == sorted([first.json()["decision_id"], other.json()["decision_id"]])


def test_the_same_json_in_another_key_order_is_the_same_request(client):
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    first = client.post(
        DECIDE, content=b'{"customer_id": "1004", "context": {"a": 1, "b": 2}}', headers=headers
    )
    again = client.post(DECIDE, content=b'{"context":{"b":2,"a":1},"customer_id":"1004"}', headers=headers)
    assert again.json()["decision_id"] == first.json()["decision_id"]


def test_a_key_reused_for_another_body_or_route_is_a_conflict(client):
    key = str(uuid.uuid4())
    assert client.post(
        DECIDE, json={"customer_id": KNOWN_IDS[4]}, headers={"Idempotency-Key": key}
    ).is_success
    for response in (
        client.post(DECIDE, json={"customer_id": KNOWN_IDS[5]}, headers={"Idempotency-Key": key}),
        client.post(
            BATCH, json={"inputs": [{"customer_id": KNOWN_IDS[4]}]}, headers={"Idempotency-Key": key}
        ),
    ):
        assert response.status_code == 409, response.text
        body = response.json()
        assert body["code"] == "conflict"
        assert "used before for a different request" in body["message"]
        assert KNOWN_IDS[5] not in body["message"]
        assert "new key" in body["hint"]


def test_keys_of_different_callers_never_meet(gateway, client):
    other_key = gateway.world.store.access.create_key(f"other-{marker()}", ["caller"])
    key = str(uuid.uuid4())
    mine = client.post(DECIDE, json={"customer_id": KNOWN_IDS[6]}, headers={"Idempotency-Key": key})
    theirs = httpx.post(
        f"{gateway.url}{DECIDE}",
        json={"customer_id": KNOWN_IDS[7]},  # another body: the same key of another caller is no conflict
        headers={"Authorization": f"Bearer {other_key}", "Idempotency-Key": key},
    )
    assert theirs.status_code == 200, theirs.text
    assert theirs.json()["decision_id"] != mine.json()["decision_id"]


@pytest.mark.parametrize("value", ["", "has space", "x" * 256, "naïve"])
def test_a_header_that_is_not_a_key_is_a_422(client, value):
    response = client.post(
        DECIDE, json={"customer_id": KNOWN_IDS[1]}, headers={"Idempotency-Key": value.encode()}
    )
    assert response.status_code == 422, response.text
    assert "Idempotency-Key must be 1 to 255 visible ASCII characters" in response.json()["message"]


def test_a_batch_retry_gets_the_first_answer(gateway, client):
    mark = marker()
    body = {"inputs": [{"customer_id": k, "context": {"mark": mark}} for k in KNOWN_IDS[8:11]]}
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    first = client.post(BATCH, json=body, headers=headers)
    again = client.post(BATCH, json=body, headers=headers)
    assert first.status_code == again.status_code == 200, again.text
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    assert len(records_marked(gateway, mark)) == 3


def test_retries_to_two_processes_at_once_are_answered_and_logged_once(gateway):
    # A second gateway process on the same stores: the kept answer is shared, not per process.
    second = start_gateway(gateway.world.settings, gateway.world, gateway.key)
    mark = marker()
    body = {"customer_id": KNOWN_IDS[12], "context": {"mark": mark}}
    headers = {"Authorization": f"Bearer {gateway.key}", "Idempotency-Key": str(uuid.uuid4())}
    answers: list[dict] = []

    def send(url: str) -> None:
        answers.append(httpx.post(f"{url}{DECIDE}", json=body, headers=headers).json())

    try:
        threads = [threading.Thread(target=send, args=(url,)) for url in [gateway.url, second.url] * 4]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        send(second.url)  # and a late retry to the process that may not have answered first
    finally:
        second.stop()  # flushes its decision log
    assert len(answers) == 9
    assert len({a["decision_id"] for a in answers}) == 1, answers
    assert [r.id for r in records_marked(gateway, mark)] == [answers[0]["decision_id"]]
