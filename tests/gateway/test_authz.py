"""The authorization matrix: every route of the gateway's route table × every role, plus no credentials, an
expired token, a token for another audience and a revoked key; each cell's allow or deny asserted.

The routes come from the app itself, and each names its action on its one dependency (gateway/authz.py):
a new route without that dependency, or with an action this table does not know, fails
`test_every_route_is_public_or_declares_its_action`. Served in process (ASGI) over an empty store, so an
allowed cell may well be a 404 or a 422; what it must never be is a 401 or a 403.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.govern.jwks import AUDIENCE, ISSUER, Jwks, SigningKey, served_jwks
from zhongtai.cli import context
from zhongtai.cli.keys import app as keys_cli
from zhongtai.config import Settings
from zhongtai.gateway.app import create_app
from zhongtai.gateway.authz import Guard
from zhongtai.meta.records import Change
from zhongtai.meta.store import MetadataStore

pytestmark = pytest.mark.integration

# Probes, metrics and the API documentation: no credential, and nothing in them names a customer.
PUBLIC = {"/healthz", "/metrics", "/docs", "/docs/oauth2-redirect", "/redoc"}
ROLES = ("admin", "app", "steward", "modeler", "reviewer", "pusher", "caller")
EXPECTED = {
    "call": {"admin", "app"},
    "read_features": {"admin", "app"},
    "push_features": {"admin", "pusher"},
    "read_catalog": {"admin", "steward"},
    "read_models": {"admin", "steward", "modeler", "reviewer"},
    "submit": {"admin", "modeler"},
    "approve": {"admin", "reviewer"},
    "promote": {"admin", "reviewer"},
    "change_traffic": {"admin", "reviewer"},
    "review": {"admin", "reviewer"},
    "manage_keys": {"admin"},
    "read_audit": {"admin"},
    "manage_grants": {"admin"},
    "read_dataset": {"admin"},
}
POLICY = {
    "name": "matrix",
    "rules": [
        {"name": "apps", "principals": ["role:app"], "actions": ["call", "read_features"]},
        {"name": "stewards", "principals": ["role:steward"], "actions": ["read_catalog", "read_models"]},
        {"name": "modelers", "principals": ["role:modeler"], "actions": ["read_models", "submit"]},
        {
            "name": "reviewers",
            "principals": ["role:reviewer"],
            "actions": ["read_models", "approve", "promote", "change_traffic", "review"],
        },
        {"name": "pushers", "principals": ["role:pusher"], "actions": ["push_features"]},
        {"name": "limited", "principals": ["role:limited"], "actions": ["call"]},
    ],
    "limits": [{"name": "tight", "principals": ["role:limited"], "per_minute": 1, "burst": 2}],
}
SAMPLE = {
    "name": "churn",
    "version": "1",
    "alias": "champion",
    "view": "customer_activity",
    "decision_id": "d-1",
    "person_id": "P1",
}


@dataclasses.dataclass
class Served:
    client: TestClient
    store: MetadataStore
    credentials: dict[str, str]


def _apply(store: MetadataStore, policy: dict[str, Any], action: str = "create") -> None:
    from zhongtai.spec.models import spec_payload
    from zhongtai.spec.policy import PolicySpec

    store.apply(
        [Change("policies", action, policy["name"], spec_payload(PolicySpec.model_validate(policy)))], "test"
    )


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[Served]:
    home = tmp_path_factory.mktemp("authz")
    signing = SigningKey("rsa-1")
    with served_jwks(Jwks(signing)) as jwks_url:
        settings = dataclasses.replace(
            Settings.from_env({"ZT_HOME": str(home)}),
            oidc_jwks_url=jwks_url,
            oidc_issuer=ISSUER,
            oidc_audience=AUDIENCE,
            serving_poll_seconds=0.1,
        )
        store = MetadataStore(settings.metadata_url)
        _apply(store, POLICY)
        credentials = {role: store.access.create_key(role, [role]) for role in (*ROLES, "limited")}
        credentials["revoked key"] = store.access.create_key("revoked", ["admin"])
        store.access.revoke("revoked")
        credentials["admin token"] = signing.token({"roles": ["admin"]})
        credentials["expired token"] = signing.token({"roles": ["admin"], "exp": int(time.time()) - 3600})
        credentials["wrong audience"] = signing.token({"roles": ["admin"], "aud": "another-service"})
        credentials["unknown role token"] = signing.token({"roles": ["wizard"]})
        with TestClient(create_app(settings), raise_server_exceptions=False) as client:
            yield Served(client, store, credentials)
        store.close()


def _routes(app: Any) -> list[tuple[APIRoute, Guard | None]]:
    found = []
    for route in app.routes:
        if isinstance(route, APIRoute):
            guards = [d.call for d in route.dependant.dependencies if isinstance(d.call, Guard)]
            found.append((route, guards[0] if len(guards) == 1 else None))
    return found


def _call(client: TestClient, route: APIRoute, credential: str | None) -> Any:
    path = route.path
    for param, value in SAMPLE.items():
        path = path.replace("{" + param + "}", value)
    [method] = route.methods
    headers = {"Authorization": f"Bearer {credential}"} if credential else {}
    params = {"q": "churn"} if path.endswith("/search") else {}
    body = {"json": {}} if method in ("POST", "PUT") else {}
    return client.request(method, path, headers=headers, params=params, **body)


def test_every_route_is_public_or_declares_its_action(served):
    routes = _routes(served.client.app)
    assert len(routes) >= 15
    for route, guard in routes:
        if route.path in PUBLIC:
            assert guard is None, f"{route.path} is public but declares {guard and guard.action}"
            continue
        assert guard is not None, f"{route.path} has no policy dependency (gateway/authz.py allow)"
        assert guard.action in EXPECTED, f"{route.path}: action {guard.action} is not in the matrix"


def test_the_matrix_of_routes_and_roles(served):
    cells = 0
    for route, guard in _routes(served.client.app):
        if guard is None:
            continue
        for role in ROLES:
            answer = _call(served.client, route, served.credentials[role])
            where = (
                f"{sorted(route.methods)[0]} {route.path} as {role}: {answer.status_code} {answer.text[:200]}"
            )
            if role in EXPECTED[guard.action]:
                assert answer.status_code not in (401, 403, 500), where
            else:
                assert answer.status_code == 403, where
                body = answer.json()
                assert body["code"] == "forbidden" and guard.action in body["message"], where
            cells += 1
        answer = _call(served.client, route, served.credentials["admin token"])
        assert answer.status_code not in (401, 403, 500), f"{route.path} as an admin token: {answer.text}"
        for bad in ("expired token", "wrong audience", "revoked key", None):
            answer = _call(served.client, route, served.credentials[bad] if bad else None)
            assert answer.status_code == 401, f"{route.path} with {bad or 'no credentials'}: {answer.text}"
            cells += 1
    assert cells >= 15 * (len(ROLES) + 4)


def test_a_deny_names_action_object_and_rule_and_never_the_credential(served):
    secret = served.credentials["caller"]
    answer = served.client.post(
        "/v1/capabilities/churn-risk/decide", headers={"X-API-Key": secret}, json={"customer_id": 1}
    )
    assert answer.status_code == 403
    body = answer.json()
    assert body["message"] == (
        "API key 'caller' may not call capability 'churn-risk': no rule grants it "
        "(role caller is not named by any policy)"
    )
    assert secret not in answer.text


def test_an_unknown_role_in_a_token_is_a_403_with_the_reason(served):
    answer = served.client.get(
        "/v1/capabilities", headers={"Authorization": f"Bearer {served.credentials['unknown role token']}"}
    )
    assert answer.status_code == 403
    assert "role wizard is not named by any policy" in answer.json()["message"]


def test_expired_and_wrong_audience_tokens_say_why(served):
    for credential, reason in (("expired token", "has expired"), ("wrong audience", "audience")):
        answer = served.client.get(
            "/v1/capabilities", headers={"Authorization": f"Bearer {served.credentials[credential]}"}
        )
        assert answer.status_code == 401 and reason in answer.json()["message"]


def test_a_rate_limited_key_gets_429_with_retry_after(served):
    headers = {"X-API-Key": served.credentials["limited"]}
    answers = [served.client.get("/v1/capabilities", headers=headers) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert int(answers[2].headers["Retry-After"]) >= 1
    assert answers[2].json()["message"] == "rate limit matrix.tight reached"


def test_a_listing_shows_only_what_the_principal_may_see(served):
    headers = {"X-API-Key": served.credentials["app"]}
    assert served.client.get("/v1/capabilities", headers=headers).json() == {
        "capabilities": [],
        "not_loaded": {},
    }


def test_a_policy_applied_while_the_gateway_runs_takes_effect_within_seconds(served):
    key = served.store.access.create_key("latecomer", ["latecomer"])
    headers = {"X-API-Key": key}
    assert served.client.get("/v1/capabilities", headers=headers).status_code == 403
    late = {
        "name": "late",
        "rules": [{"name": "latecomers", "principals": ["role:latecomer"], "actions": ["call"]}],
    }
    _apply(served.store, late)
    deadline = time.monotonic() + 20
    while served.client.get("/v1/capabilities", headers=headers).status_code != 200:
        assert time.monotonic() < deadline, "the gateway did not pick up the applied policy"
        time.sleep(0.05)
    _apply(served.store, late, "delete")
    while served.client.get("/v1/capabilities", headers=headers).status_code != 403:
        assert time.monotonic() < deadline, "the gateway did not pick up the removed policy"
        time.sleep(0.05)


@pytest.fixture
def runner(zt_env) -> Iterator[CliRunner]:
    context.reset()
    yield CliRunner()
    context.reset()


def test_a_key_made_with_the_default_role_gets_403_and_an_admin_key_may_call(runner, tmp_path: Path):
    created = {}
    for name, extra in (("nogrant", []), ("x", ["--role", "admin"])):
        result = runner.invoke(keys_cli, ["create", "--name", name, *extra])
        assert result.exit_code == 0, result.output
        created[name] = result.stdout.strip().splitlines()[-1]
    context.reset()
    with TestClient(create_app(Settings.from_env()), raise_server_exceptions=False) as client:
        path = "/v1/capabilities/churn-risk/decide"
        denied = client.post(path, headers={"X-API-Key": created["nogrant"]}, json={"customer_id": 1})
        assert denied.status_code == 403 and "no rule grants it" in denied.json()["message"]
        allowed = client.post(path, headers={"X-API-Key": created["x"]}, json={"customer_id": 1})
        assert allowed.status_code == 404  # an admin may call: there is just no such capability here


def test_listings_show_a_workspace_only_what_it_is_granted(tmp_path):
    from tests.capabilities.world import build_world

    world = build_world(tmp_path, f"sqlite:///{tmp_path / 'metadata.db'}", f"sqlite:///{tmp_path / 'o.db'}")
    rules = [
        {"name": "churn_only", "principals": ["workspace:marketing"], "actions": ["call", "read_catalog"]}
    ]
    rules[0]["objects"] = ["churn-risk"]
    _apply(world.store, {"name": "marketing", "rules": rules})
    key = world.store.access.create_key("campaigns", ["analyst"], workspace="marketing")
    headers = {"X-API-Key": key}
    try:
        with TestClient(create_app(world.settings), raise_server_exceptions=False) as client:
            listed = client.get("/v1/capabilities", headers=headers).json()["capabilities"]
            assert [c["name"] for c in listed] == ["churn-risk"]
            found = client.get("/v1/catalog/search", params={"q": "churn"}, headers=headers).json()["results"]
            assert [hit["name"] for hit in found] == ["churn-risk"]
            other = client.post("/v1/capabilities/churn-challenger/decide", headers=headers, json={})
            assert other.status_code == 403 and "capability 'churn-challenger'" in other.json()["message"]
    finally:
        world.online.close()
        world.store.close()
