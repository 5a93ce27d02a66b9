from __future__ import annotations

import dataclasses
import time
import uuid

import httpx
import pytest

from tests.capabilities.world import KNOWN_IDS, model_row
from tests.gateway.conftest import start_gateway

pytestmark = pytest.mark.integration
DECIDE = "/v1/capabilities/churn-risk/decide"


def _error(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"code", "message", "hint"}
    assert body["code"] == code
    return body


def test_healthz(gateway):
    response = httpx.get(f"{gateway.url}/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_decide_answers_with_score_factors_and_model(gateway, client):
    key = KNOWN_IDS[5]
    response = client.post(DECIDE, json={"customer_id": key, "context": {"channel": "app"}})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {
        "decision_id",
        "capability",
        "decision",
        "score",
        "factors",
        "model",
        "fallback",
        "arm",
        "latency_ms",
    }
    assert body["arm"] == "champion"  # no traffic policy: the alias serves as the only arm
    expected = float(gateway.world.booster.predict(model_row(gateway.world.rows[key]))[0])
    assert body["score"] == pytest.approx(expected)
    assert body["capability"] == "churn-risk"
    assert body["decision"] in {"retain_offer", "watch", "none"}
    assert body["model"] == {"name": "churn", "version": 1}
    assert body["fallback"] is False
    assert len(body["factors"]) == 3
    assert set(body["factors"][0]) == {"feature", "value", "contribution"}
    assert uuid.UUID(body["decision_id"]).version == 4
    assert body["latency_ms"] > 0


def test_unknown_entity_gets_the_fallback(client):
    body = client.post(DECIDE, json={"customer_id": "brand-new"}).json()
    assert (body["decision"], body["score"], body["fallback"], body["factors"]) == (
        "new_customer",
        0.5,
        True,
        [],
    )


def test_missing_or_unknown_key_is_401(gateway):
    missing = httpx.post(f"{gateway.url}{DECIDE}", json={"customer_id": KNOWN_IDS[0]})
    assert "missing API key" in _error(missing, 401, "unauthorized")["message"]
    unknown = httpx.post(
        f"{gateway.url}{DECIDE}", json={"customer_id": KNOWN_IDS[0]}, headers={"X-API-Key": "zt_nope"}
    )
    assert "unknown or revoked" in _error(unknown, 401, "unauthorized")["message"]
    listing = httpx.get(f"{gateway.url}/v1/capabilities")
    _error(listing, 401, "unauthorized")


def test_a_key_created_after_start_works_at_once(gateway):
    time.sleep(1.1)  # past the reload guard that an earlier unknown key may have armed
    key = gateway.world.store.access.create_key(f"bpm-{uuid.uuid4().hex[:6]}", ["caller"])
    response = httpx.post(
        f"{gateway.url}{DECIDE}", json={"customer_id": KNOWN_IDS[1]}, headers={"X-API-Key": key}
    )
    assert response.status_code == 200, response.text


def test_a_caller_not_allowed_explanations_gets_answers_without_factors(gateway):
    # role:bare may call but not see_explanation: the factors (feature names and values) and the node's
    # reasons are withheld in every answer, single, batch and process node; the decision itself is the same.
    key = gateway.world.store.access.create_key(f"bare-{uuid.uuid4().hex[:6]}", ["bare"])
    headers = {"Authorization": f"Bearer {key}"}
    entity = {"customer_id": KNOWN_IDS[5]}
    single = httpx.post(f"{gateway.url}{DECIDE}", json=entity, headers=headers).json()
    assert single["factors"] == [] and single["fallback"] is False
    batch = httpx.post(f"{gateway.url}{DECIDE}/batch", json={"inputs": [entity]}, headers=headers).json()
    assert batch["results"][0]["factors"] == [] and batch["decided"] == 1
    job = {"job_key": f"job-{uuid.uuid4().hex[:6]}", "business_key": "order-1", "inputs": entity}
    node = httpx.post(f"{gateway.url}/v1/capabilities/churn-risk/node", json=job, headers=headers)
    assert node.status_code == 200, node.text
    assert node.json()["reasons"] == []
    caller = {"Authorization": f"Bearer {gateway.key}"}
    assert len(httpx.post(f"{gateway.url}{DECIDE}", json=entity, headers=caller).json()["factors"]) == 3


def test_unknown_capability_is_404(client):
    body = _error(client.post("/v1/capabilities/nope/decide", json={"customer_id": "1"}), 404, "not_found")
    assert "capability 'nope' is not registered" in body["message"]
    _error(client.get("/v1/no-such-route"), 404, "not_found")


def test_malformed_bodies_are_4xx_and_name_the_field(client):
    bad_json = client.post(DECIDE, content=b'{"customer_id": ', headers={"Content-Type": "application/json"})
    assert "not valid JSON" in _error(bad_json, 400, "invalid_json")["message"]
    not_object = client.post(DECIDE, json=[1, 2])
    assert "must be a JSON object" in _error(not_object, 422, "invalid_argument")["message"]
    missing = client.post(DECIDE, json={"context": {"channel": "app"}})
    body = _error(missing, 422, "invalid_argument")
    assert "customer_id" in body["message"] and body["hint"]


def test_capabilities_are_listed_with_what_did_not_load(client):
    body = client.get("/v1/capabilities").json()
    assert [c["name"] for c in body["capabilities"]] == ["churn-risk"]
    assert body["capabilities"][0]["model"] == {"name": "churn", "version": 1, "alias": "champion"}
    assert "churn@challenger" in body["not_loaded"]["churn-challenger"]


def test_decisions_reach_the_decision_log(gateway, client):
    ids = [client.post(DECIDE, json={"customer_id": k}).json()["decision_id"] for k in KNOWN_IDS[10:15]]
    store = gateway.world.store
    deadline = time.monotonic() + 10
    while True:
        logged = {r.id: r for r in store.decisions.recent("churn-risk", limit=1000)}
        if set(ids) <= set(logged) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert set(ids) <= set(logged)
    record = logged[ids[0]]
    assert (record.principal, record.model_name, record.model_version) == ("crm", "churn", 1)
    assert record.inputs == {"customer_id": KNOWN_IDS[10]}
    assert (
        record.features["orders_90d"] == gateway.world.rows[KNOWN_IDS[10]]["customer_activity"]["orders_90d"]
    )
    assert record.latency_ms > 0


@pytest.mark.parametrize("writer", ["process", "thread"])
def test_shutdown_flushes_the_decision_log(gateway, writer):
    # A second gateway on the same stores: every decision it answered is stored once it has stopped.
    settings = dataclasses.replace(gateway.world.settings, decision_writer=writer)
    second = start_gateway(settings, gateway.world, gateway.key)
    headers = {"Authorization": f"Bearer {gateway.key}"}
    with httpx.Client(base_url=second.url, headers=headers) as client:
        ids = [client.post(DECIDE, json={"customer_id": k}).json()["decision_id"] for k in KNOWN_IDS[20:30]]
    second.stop()
    logged = {r.id for r in gateway.world.store.decisions.recent("churn-risk", limit=1000)}
    assert set(ids) <= logged
