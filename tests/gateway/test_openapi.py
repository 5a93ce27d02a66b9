"""The OpenAPI document and the docs pages: what a low-code tool or a person reads about the gateway."""

from __future__ import annotations

import httpx
import pytest

from zhongtai.errors import ErrorCode

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def doc(gateway) -> dict:
    response = httpx.get(f"{gateway.url}/openapi.json")
    assert response.status_code == 200, response.text
    return response.json()


def test_keys_are_declared_as_security_schemes_on_every_guarded_route(doc):
    schemes = doc["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == {**schemes["bearerAuth"], "type": "http", "scheme": "bearer"}
    assert schemes["apiKeyHeader"] == {"type": "apiKey", "in": "header", "name": "X-API-Key"}
    guarded = {path for path, ops in doc["paths"].items() for op in ops.values() if "security" in op}
    assert guarded == set(doc["paths"]) - {"/healthz", "/metrics"}


def test_every_error_status_has_the_error_schema(doc):
    error = doc["components"]["schemas"]["ErrorBody"]
    assert set(error["required"]) == {"code", "message", "hint"}
    codes = doc["components"]["schemas"]["ErrorCode"]["enum"]
    assert set(codes) == {code.value for code in ErrorCode}
    decide = doc["paths"]["/v1/capabilities/churn-risk/decide"]["post"]
    assert sorted(decide["responses"]) == ["200", "400", "401", "404", "409", "413", "422"]
    push = doc["paths"]["/v1/features/{view}/push"]["post"]
    assert sorted(push["responses"]) == ["200", "400", "401", "403", "404", "413", "422"]
    for ops in doc["paths"].values():
        for op in ops.values():
            for status, response in op["responses"].items():
                if status >= "400":
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (op["operationId"], status)


def test_metrics_are_text_and_each_capability_has_its_own_body(doc):
    metrics = doc["paths"]["/metrics"]["get"]["responses"]["200"]["content"]
    assert list(metrics) == ["text/plain"]
    assert "/v1/capabilities/{name}/decide" not in doc["paths"]
    body = doc["paths"]["/v1/capabilities/churn-risk/decide"]["post"]["requestBody"]["content"][
        "application/json"
    ]
    assert body["schema"]["required"] == ["customer_id"]
    assert body["example"] == {"customer_id": 100005}


def test_each_view_that_takes_rows_has_its_own_push_body(doc):
    push = doc["paths"]["/v1/features/customer_activity/push"]["post"]
    rows = push["requestBody"]["content"]["application/json"]["schema"]["properties"]["rows"]
    assert (rows["minItems"], rows["maxItems"]) == (1, 1024)  # a KiB of the 1 MiB body limit per row
    row = rows["items"]
    assert row["required"] == ["customer_id", "orders_90d", "spend_90d", "days_since_order"]
    assert row["additionalProperties"] is False
    assert row["properties"]["spend_90d"] == {"anyOf": [{"type": "number"}, {"type": "null"}]}
    assert "parameters" not in push and push["security"]


def test_the_online_read_states_its_limits_and_views(doc):
    body = doc["paths"]["/v1/features/online"]["post"]["requestBody"]["content"]["application/json"]
    (customer,) = body["schema"]["anyOf"]
    entities, views = customer["properties"]["entities"], customer["properties"]["views"]
    assert (entities["minItems"], entities["maxItems"]) == (1, 100)
    assert views["uniqueItems"] is True and views["items"] == {
        "enum": ["customer_activity", "customer_service"]
    }
    assert customer["additionalProperties"] is False


def test_swagger_ui_is_served_from_the_package_not_a_cdn(gateway):
    page = httpx.get(f"{gateway.url}/docs")
    assert page.status_code == 200
    assert "/docs/static/swagger-ui-bundle.js" in page.text
    assert "cdn" not in page.text.lower() and "https://" not in page.text
    script = httpx.get(f"{gateway.url}/docs/static/swagger-ui-bundle.js")
    assert script.status_code == 200 and len(script.content) > 100_000
    redoc = httpx.get(f"{gateway.url}/redoc")
    assert redoc.status_code == 200 and "https://" not in redoc.text


def test_a_method_the_route_lacks_is_405_with_allow(gateway):
    response = httpx.get(f"{gateway.url}/v1/capabilities/churn-risk/decide")
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.json()["code"] == "method_not_allowed"
