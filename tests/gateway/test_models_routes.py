"""The model registry over HTTP: review with four eyes across keys, alias moves, rollback and history,
on a real gateway app (in-process ASGI, its lifespan run) over SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from tests.capabilities.world import grant_test_roles
from tests.models.conftest import register_model_spec
from tests.models.test_review import register_versions
from zhongtai.config import Settings
from zhongtai.meta.store import MetadataStore

pytestmark = pytest.mark.integration


@dataclass
class Registry:
    client: TestClient
    keys: dict[str, str]  # key name -> key

    def call(self, method: str, path: str, as_key: str, **kwargs):
        return self.client.request(method, path, headers={"X-API-Key": self.keys[as_key]}, **kwargs)


@pytest.fixture
def registry_api(metadata_url, tmp_path) -> Iterator[Registry]:
    from zhongtai.gateway.app import create_app

    store = MetadataStore(metadata_url)
    register_model_spec(store)
    register_versions(store, 3)
    grant_test_roles(store)
    keys = {
        "alice": store.access.create_key("alice", ["models"]),
        "bob": store.access.create_key("bob", ["admin"]),
        "steward": store.access.create_key("steward", ["catalog"]),
        "crm": store.access.create_key("crm", ["caller"]),
    }
    settings = Settings(
        home=tmp_path / "home",
        metadata_url=metadata_url,
        lake_url=str(tmp_path / "lake"),
        offline_engine="duckdb",
        online_url=f"sqlite:///{tmp_path / 'online.db'}",
        bus_url=f"sqlite:///{tmp_path / 'bus.db'}",
    )
    try:
        with TestClient(create_app(settings)) as client:
            yield Registry(client, keys)
    finally:
        store.close()


def _refusal(response, status: int, message: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"code", "message", "hint"} and message in body["message"], body


def test_review_alias_rollback_and_history_over_http(registry_api):
    api = registry_api
    for v in (1, 2):
        assert (
            api.call(
                "POST", f"/v1/models/churn/versions/{v}/submit", "alice", json={"comment": "ready"}
            ).json()["status"]
            == "pending_review"
        )
        _refusal(
            api.call("POST", f"/v1/models/churn/versions/{v}/approve", "alice"),
            403,
            f"alice submitted churn v{v} and may not approve it too (four eyes)",
        )
        assert (
            api.call("POST", f"/v1/models/churn/versions/{v}/approve", "bob").json()["status"] == "approved"
        )
    _refusal(
        api.call("PUT", "/v1/models/churn/aliases/champion", "alice", json={"version": 3}),
        409,
        "churn v3 is registered, not approved: submit it",
    )
    first = api.call("PUT", "/v1/models/churn/aliases/champion", "alice", json={"version": 1, "reason": "go"})
    assert first.status_code == 200 and first.json()["to_version"] == 1
    api.call("PUT", "/v1/models/churn/aliases/champion", "bob", json={"version": 2})
    back = api.call("POST", "/v1/models/churn/aliases/champion/rollback", "bob", json={"reason": "v2 slips"})
    assert (back.json()["from_version"], back.json()["to_version"], back.json()["principal"]) == (2, 1, "bob")

    moves = api.call("GET", "/v1/models/churn/history", "steward").json()["moves"]
    assert [(m["from_version"], m["to_version"], m["principal"], m["reason"]) for m in moves] == [
        (None, 1, "alice", "go"),
        (1, 2, "bob", ""),
        (2, 1, "bob", "v2 slips"),
    ]
    at = api.call("GET", "/v1/models/churn/history", "steward", params={"at": moves[1]["at"]}).json()
    assert at["aliases"] == {"champion": 2}
    shown = api.call("GET", "/v1/models/churn/versions/1", "steward").json()
    assert shown["aliases"] == ["champion"] and [r["principal"] for r in shown["reviews"]] == ["alice", "bob"]
    listed = api.call("GET", "/v1/models", "steward", params={"model": "churn"}).json()["versions"]
    assert [v["status"] for v in listed] == ["approved", "approved", "registered"]


def test_every_refusal_is_a_4xx_with_a_message(registry_api):
    api = registry_api
    _refusal(api.call("POST", "/v1/models/churn/aliases/champion/rollback", "bob"), 409, "has no history")
    _refusal(api.call("POST", "/v1/models/churn/versions/1/approve", "bob"), 409, "churn v1 is registered")
    _refusal(api.call("POST", "/v1/models/churn/versions/9/submit", "bob"), 404, "model version 'churn v9'")
    _refusal(
        api.call("POST", "/v1/models/fraud/versions/1/submit", "bob"), 404, "model 'fraud' is not registered"
    )
    _refusal(api.call("GET", "/v1/models/churn/versions/x", "bob"), 422, "version")
    _refusal(
        api.call("PUT", "/v1/models/churn/aliases/champion", "bob", json={"version": 1, "x": 1}), 422, "x"
    )
    _refusal(
        api.call("PUT", "/v1/models/churn/aliases/" + "a" * 64, "bob", json={"version": 1}),
        422,
        "path.alias: String should match pattern",
    )
    assert (
        api.call("PUT", "/v1/models/churn/aliases/" + "a" * 63, "bob", json={"version": 1}).status_code == 200
    )
    _refusal(api.call("DELETE", "/v1/models/churn/aliases/canary", "bob"), 404, "model alias 'churn@canary'")
    _refusal(api.call("POST", "/v1/models/churn/versions/1/archive", "bob"), 409, "cannot be archived")
    _refusal(api.call("GET", "/v1/models/churn/history", "bob", params={"at": "soon"}), 422, "at")
    _refusal(
        api.call("POST", "/v1/models/churn/versions/1/submit", "bob", json={"comment": "x" * 2001}),
        422,
        "comment",
    )
    # roles: the catalog reads, a caller key does neither, and no key is a 401
    _refusal(
        api.call("POST", "/v1/models/churn/versions/1/submit", "steward"), 403, "may not submit model 'churn'"
    )
    _refusal(
        api.call("GET", "/v1/models", "crm"),
        403,
        "API key 'crm' may not read_models on any object: no rule grants it",
    )
    _refusal(api.client.get("/v1/models"), 401, "missing API key")
    removed = api.call("DELETE", "/v1/models/churn/aliases/" + "a" * 63, "bob", params={"reason": "tidy"})
    assert removed.status_code == 200 and removed.json()["to_version"] is None
