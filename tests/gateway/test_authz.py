"""The authorization matrix: every route of the gateway's route table × every role, plus no credentials, an
expired token, a token for another audience and a revoked key; each cell's allow or deny asserted.

The table and the judge live in bench/security_matrix.py, shared with the security bench. The routes come
from the app itself, and each names its action on its one dependency (gateway/authz.py): a new route without
that dependency, or with an action the table does not know, fails
`test_every_route_is_public_or_declares_its_action`. Served in process (ASGI) over an empty store, so an
allowed cell may well be a 404 or a 422; what it must never be is a 401, a 403 or a 5xx.
"""

from __future__ import annotations

import importlib.util
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.govern.jwks import AUDIENCE, ISSUER, Jwks, SigningKey, served_jwks
from zhongtai.cli import context
from zhongtai.cli.keys import app as keys_cli
from zhongtai.config import Settings
from zhongtai.gateway.app import create_app

pytestmark = pytest.mark.integration


def _load_matrix() -> ModuleType:
    # The table lives beside the security bench, which counts the same cells (bench/security.py).
    path = Path(__file__).resolve().parents[2] / "bench" / "security_matrix.py"
    spec = importlib.util.spec_from_file_location("security_matrix", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules["security_matrix"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


matrix = _load_matrix()
_apply = matrix.apply_policy


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[matrix.Served]:
    home = tmp_path_factory.mktemp("authz")
    signing = SigningKey("rsa-1")
    with (
        served_jwks(Jwks(signing)) as jwks_url,
        matrix.served(home, signing, jwks_url, ISSUER, AUDIENCE) as s,
    ):
        yield s


def test_every_route_is_public_or_declares_its_action(served):
    assert len(matrix.routes(served.client.app)) >= 15
    assert matrix.undeclared(served.client.app) == []


def test_the_matrix_of_routes_and_roles(served):
    found = matrix.run(served.client, served.credentials)
    assert found.failures == []
    assert found.routes >= 15
    assert found.cells == found.routes * (len(matrix.ROLES) + 1 + len(matrix.REFUSED))


def test_a_route_without_its_guard_is_a_finding(served):
    # The matrix can fail: a guarded route whose dependency is swapped for one that lets anyone in.
    from zhongtai.gateway.authz import Access
    from zhongtai.govern.principal import Principal

    app = served.client.app
    route, guard = next((r, g) for r, g in matrix.routes(app) if g is not None and g.action == "read_models")
    engine = app.state.gateway.policy.engine
    app.dependency_overrides[guard] = lambda: Access(Principal("anyone", ("admin",)), guard.action, engine)
    try:
        found = matrix.run(served.client, served.credentials)
    finally:
        app.dependency_overrides.clear()
    assert any(f.startswith(f"GET {route.path} with no credentials: ") for f in found.failures)
    assert any(f"{route.path} as caller: denied, yet" in f for f in found.failures)


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
