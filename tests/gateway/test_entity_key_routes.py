"""Every route that takes an entity key checks it alike: a decimal, blank or boolean key is a 422 naming the
field, never a quiet fallback or a miss."""

from __future__ import annotations

import httpx
import pytest

from tests.capabilities.world import KNOWN_IDS

pytestmark = pytest.mark.integration
DECIDE = "/v1/capabilities/churn-risk/decide"
BAD_KEYS = [
    (1.5, "must be a string or an integer, not a decimal number"),
    (103216.25, "must be a string or an integer, not a decimal number"),
    ("   ", "is blank"),
    (True, "must be a string or an integer, not a boolean"),
    ({"id": "1000"}, "must be a string or an integer, not an object"),
]


def _refused(response: httpx.Response, message: str) -> None:
    assert response.status_code == 422, response.text
    body = response.json()
    assert (body["code"], set(body)) == ("invalid_argument", {"code", "message", "hint"})
    assert message in body["message"]
    assert "1032" not in body["message"]


@pytest.fixture(scope="module")
def pusher(gateway) -> str:
    return gateway.world.store.access.create_key("key-pusher", ["push"])


@pytest.mark.parametrize(("key", "message"), BAD_KEYS)
def test_decide_refuses_a_key_that_is_not_one(client, key, message):
    _refused(client.post(DECIDE, json={"customer_id": key}), f"field 'customer_id' {message}")


@pytest.mark.parametrize(("key", "message"), BAD_KEYS)
def test_the_online_read_refuses_the_same_keys(client, key, message):
    body = {"entities": [KNOWN_IDS[0], key], "views": ["customer_activity"]}
    _refused(client.post("/v1/features/online", json=body), f"field 'entities[1]' {message}")


@pytest.mark.parametrize(("key", "message"), BAD_KEYS)
def test_a_push_refuses_the_same_keys(gateway, pusher, key, message):
    row = {"customer_id": key, "orders_90d": 1, "spend_90d": 2.0, "days_since_order": 3}
    response = httpx.post(
        f"{gateway.url}/v1/features/customer_activity/push",
        json={"rows": [row]},
        headers={"Authorization": f"Bearer {pusher}"},
    )
    _refused(response, f"field 'rows[0].customer_id' {message}")


def test_an_integer_key_finds_what_its_string_finds(client):
    as_string = client.post(DECIDE, json={"customer_id": KNOWN_IDS[2]}).json()
    as_integer = client.post(DECIDE, json={"customer_id": int(KNOWN_IDS[2])}).json()
    # JSON has one kind of number: 1002.0 is the integer 1002 (it used to miss, as the text "1002.0").
    as_whole_float = client.post(DECIDE, json={"customer_id": float(KNOWN_IDS[2])}).json()
    assert as_string["fallback"] is False
    assert as_integer["score"] == as_string["score"] == as_whole_float["score"]
