"""Catalog and lineage as JSON over the gateway, for keys with the catalog role only."""

from __future__ import annotations

import httpx
import pytest

from tests.gateway.conftest import RunningGateway

pytestmark = pytest.mark.integration


def _names(edges: list[dict]) -> set[tuple[str, str, str]]:
    return {(e["from"]["name"], e["to"]["name"], e["relation"]) for e in edges}


def test_catalog_over_the_gateway_needs_the_catalog_role(gateway: RunningGateway):
    reader = gateway.world.store.access.create_key("steward", ["catalog"])
    with httpx.Client(base_url=gateway.url) as client:
        denied = client.get("/v1/lineage/churn-risk", headers={"X-API-Key": gateway.key})
        assert denied.status_code == 403 and "may not read_catalog" in denied.json()["message"]
        assert client.get("/v1/lineage/churn-risk").status_code == 401
        allowed = client.get("/v1/lineage/churn-risk", headers={"X-API-Key": reader})
        assert allowed.status_code == 200
        assert ("churn", "churn-risk", "serves") in _names(allowed.json()["upstream"])
        found = client.get("/v1/catalog/search", params={"q": "churn"}, headers={"X-API-Key": reader})
        assert "churn-risk" in {h["name"] for h in found.json()["results"]}
        shown = client.get("/v1/catalog/churn", headers={"X-API-Key": reader})
        assert shown.status_code == 200 and shown.json()["kind"] == "model"
        missing = client.get("/v1/catalog/nope", headers={"X-API-Key": reader})
        assert missing.status_code == 404
