"""The batch decide on a real gateway (SQLite and Redis online stores): one result per input in order, a bad
input answered with its error in its place while the others are decided, each answer logged as its own
decision, the limits of the envelope, and its typed description in the OpenAPI document."""

from __future__ import annotations

import httpx
import pytest

from tests.capabilities.world import KNOWN_IDS, model_row
from tests.gateway.test_idempotency import marker, records_marked
from zhongtai.config import DEFAULT_MAX_BATCH_INPUTS, Settings
from zhongtai.errors import ZhongtaiError

pytestmark = pytest.mark.integration
BATCH = "/v1/capabilities/churn-risk/decide/batch"
DECIDE = "/v1/capabilities/churn-risk/decide"


def test_every_input_is_answered_in_order_and_a_bad_one_in_its_place(gateway, client):
    mark = marker()
    inputs = [
        {"customer_id": KNOWN_IDS[1], "context": {"mark": mark}},
        {"context": {"mark": mark}},  # no input field
        {"customer_id": KNOWN_IDS[2], "context": {"mark": mark}},
        {"customer_id": 1.5},  # a decimal is no key
        "not an object",
        {"customer_id": "brand-new", "context": {"mark": mark}},  # unknown: the fallback
        {"customer_id": KNOWN_IDS[3], "context": "not an object"},
    ]
    response = client.post(BATCH, json={"inputs": inputs})
    assert response.status_code == 200, response.text
    body = response.json()
    results = body["results"]
    assert [r["index"] for r in results] == list(range(len(inputs)))
    assert (body["capability"], body["decided"], body["failed"]) == ("churn-risk", 3, 4)
    assert body["latency_ms"] > 0
    for index, key in ((0, KNOWN_IDS[1]), (2, KNOWN_IDS[2])):
        expected = float(gateway.world.booster.predict(model_row(gateway.world.rows[key]))[0])
        assert results[index]["score"] == pytest.approx(expected)
        assert results[index]["fallback"] is False and len(results[index]["factors"]) == 3
    assert (results[5]["decision"], results[5]["fallback"]) == ("new_customer", True)
    errors = {r["index"]: r["error"] for r in results if "error" in r}
    assert sorted(errors) == [1, 3, 4, 6]
    assert all(e["code"] == "invalid_argument" and e["message"] for e in errors.values())
    assert "customer_id" in errors[1]["message"]
    assert "inputs[4] must be a JSON object" in errors[4]["message"]
    assert "'context' must be a JSON object" in errors[6]["message"]
    # Each answer is its own decision in the log, with its own input; the failed inputs are not logged.
    logged = {r.id: r for r in records_marked(gateway, mark)}
    assert set(logged) == {results[i]["decision_id"] for i in (0, 2, 5)}
    assert logged[results[0]["decision_id"]].inputs == inputs[0]
    assert logged[results[5]["decision_id"]].fallback is True


def test_a_batch_answers_what_single_decides_answer(client):
    keys = KNOWN_IDS[20:25]
    batch = client.post(BATCH, json={"inputs": [{"customer_id": k} for k in keys]}).json()["results"]
    single = [client.post(DECIDE, json={"customer_id": k}).json() for k in keys]
    drop = {"decision_id", "latency_ms", "index"}
    assert [{k: v for k, v in r.items() if k not in drop} for r in batch] == [
        {k: v for k, v in r.items() if k not in drop} for r in single
    ]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"inputs": []}, "'inputs' must be a non-empty array"),
        ({"inputs": {"customer_id": 1}}, "'inputs' must be a non-empty array"),
        ({}, "'inputs' must be a non-empty array"),
        ({"inputs": [{"customer_id": "1000"}], "context": {}}, "unknown field 'context'"),
        (
            {"inputs": [{"customer_id": "1000"}] * (DEFAULT_MAX_BATCH_INPUTS + 1)},
            f"holds {DEFAULT_MAX_BATCH_INPUTS + 1} inputs, more than the limit of {DEFAULT_MAX_BATCH_INPUTS}",
        ),
    ],
)
def test_a_wrong_envelope_is_a_422_naming_the_field(client, body, expected):
    response = client.post(BATCH, json=body)
    assert response.status_code == 422, response.text
    assert expected in response.json()["message"]


def test_the_batch_needs_a_key_and_a_known_capability(gateway, client):
    assert httpx.post(f"{gateway.url}{BATCH}", json={"inputs": [{}]}).status_code == 401
    missing = client.post("/v1/capabilities/nope/decide/batch", json={"inputs": [{"customer_id": "1000"}]})
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")


def test_the_openapi_document_types_both_decide_routes(gateway):
    paths = httpx.get(f"{gateway.url}/openapi.json").json()["paths"]
    assert "/v1/capabilities/{name}/decide/batch" not in paths
    decide = paths["/v1/capabilities/churn-risk/decide"]["post"]
    answer = decide["responses"]["200"]["content"]["application/json"]["schema"]
    assert answer["properties"]["decision"]["enum"] == ["retain_offer", "watch", "none", "new_customer"]
    assert answer["properties"]["capability"]["enum"] == ["churn-risk"]
    assert answer["properties"]["factors"]["maxItems"] == 3
    assert {"decision_id", "score", "model", "fallback", "latency_ms"} <= set(answer["required"])
    assert [p["name"] for p in decide["parameters"]] == ["Idempotency-Key"]
    batch = paths["/v1/capabilities/churn-risk/decide/batch"]["post"]
    inputs = batch["requestBody"]["content"]["application/json"]["schema"]["properties"]["inputs"]
    assert (inputs["minItems"], inputs["maxItems"]) == (1, DEFAULT_MAX_BATCH_INPUTS)
    typed = decide["requestBody"]["content"]["application/json"]["schema"]
    assert inputs["items"]["anyOf"][0] == typed
    results = batch["responses"]["200"]["content"]["application/json"]["schema"]["properties"]["results"]
    decided, failed = results["items"]["anyOf"]
    assert decided["properties"]["decision"] == answer["properties"]["decision"]
    assert failed["required"] == ["index", "error"]
    assert sorted(batch["responses"]) == ["200", "400", "401", "404", "409", "413", "422"]


def test_the_batch_limit_and_the_retention_are_settings():
    settings = Settings.from_env(
        {"ZT_HOME": "/tmp/zt", "ZT_MAX_BATCH_INPUTS": "3", "ZT_IDEMPOTENCY_TTL": "60"}
    )
    assert (settings.max_batch_inputs, settings.idempotency_ttl_seconds) == (3, 60)
    defaults = Settings.from_env({"ZT_HOME": "/tmp/zt"})
    assert (defaults.max_batch_inputs, defaults.idempotency_ttl_seconds) == (500, 86400)
    with pytest.raises(ZhongtaiError, match="ZT_MAX_BATCH_INPUTS must be a positive whole number"):
        Settings.from_env({"ZT_MAX_BATCH_INPUTS": "0"})
