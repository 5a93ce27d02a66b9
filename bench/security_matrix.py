"""The authorization matrix of the gateway: every route of its route table × every role, plus no credentials,
an expired token, a token for another audience and a revoked key; each cell's allow or deny judged.

One table of expectations, used by two callers: tests/gateway/test_authz.py asserts it has no failure, and
bench/security.py counts its cells and failures for the security report. The routes come from the app
itself, each naming its action on its one dependency (gateway/authz.py), so a new route is a new row with no
edit here; a new action fails until this table says who may do it.

Served in process (ASGI) over an empty store, so an allowed cell may well be a 404 or a 422; what it must
never be is a 401, a 403 or a 5xx. A denied cell must be a 403 naming the action; a bad credential a 401.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from zhongtai.config import Settings
from zhongtai.gateway.app import create_app
from zhongtai.gateway.authz import Guard
from zhongtai.meta.records import Change
from zhongtai.meta.store import MetadataStore

# Probes, metrics and the API documentation: no credential, and nothing in them names a customer.
PUBLIC = {"/healthz", "/metrics", "/docs", "/docs/oauth2-redirect", "/redoc"}
ROLES = ("admin", "app", "steward", "modeler", "reviewer", "pusher", "caller")
# The credentials every route must refuse with a 401.
REFUSED = ("expired token", "wrong audience", "revoked key", None)
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
    "apply_specs": {"admin"},
    "read_dataset": {"admin"},
    "whoami": set(ROLES),
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


class Signer(Protocol):
    """What signs the matrix's tokens (tests/govern/jwks.py's SigningKey)."""

    def token(self, claims: dict[str, Any] | None = None) -> str: ...


@dataclasses.dataclass
class Served:
    """The gateway in process over an empty store with POLICY, and one credential per role and bad case."""

    client: TestClient
    store: MetadataStore
    credentials: dict[str, str]


@dataclasses.dataclass
class Matrix:
    """The cells judged and, for each failure, where (method, path, credential) and what came back."""

    cells: int = 0
    routes: int = 0
    failures: list[str] = dataclasses.field(default_factory=list)


def apply_policy(store: MetadataStore, policy: dict[str, Any], action: str = "create") -> None:
    """Apply (or delete) a `policies` spec as `zhongtai apply` would."""
    from zhongtai.spec.models import spec_payload
    from zhongtai.spec.policy import PolicySpec

    payload = spec_payload(PolicySpec.model_validate(policy))
    store.apply([Change("policies", action, policy["name"], payload)], "test")


@contextmanager
def served(home: Path, signer: Signer, jwks_url: str, issuer: str, audience: str) -> Iterator[Served]:
    """The gateway app in process on a fresh store under `home`, trusting tokens of `jwks_url`."""
    settings = dataclasses.replace(
        Settings.from_env({"ZT_HOME": str(home)}),
        oidc_jwks_url=jwks_url,
        oidc_issuer=issuer,
        oidc_audience=audience,
        serving_poll_seconds=0.1,
    )
    store = MetadataStore(settings.metadata_url)
    try:
        apply_policy(store, POLICY)
        credentials = {role: store.access.create_key(role, [role]) for role in (*ROLES, "limited")}
        credentials["revoked key"] = store.access.create_key("revoked", ["admin"])
        store.access.revoke("revoked")
        credentials["admin token"] = signer.token({"roles": ["admin"]})
        credentials["expired token"] = signer.token({"roles": ["admin"], "exp": int(time.time()) - 3600})
        credentials["wrong audience"] = signer.token({"roles": ["admin"], "aud": "another-service"})
        credentials["unknown role token"] = signer.token({"roles": ["wizard"]})
        with TestClient(create_app(settings), raise_server_exceptions=False) as client:
            yield Served(client, store, credentials)
    finally:
        store.close()


def routes(app: Any) -> list[tuple[APIRoute, Guard | None]]:
    """Every API route of the app with its one policy dependency (None when it has none, or several)."""
    found = []
    for route in app.routes:
        if isinstance(route, APIRoute):
            guards = [d.call for d in route.dependant.dependencies if isinstance(d.call, Guard)]
            found.append((route, guards[0] if len(guards) == 1 else None))
    return found


def undeclared(app: Any) -> list[str]:
    """Routes that break the table's premise: public with a guard, guarded without one, or an action the
    table does not know."""
    problems = []
    for route, guard in routes(app):
        if route.path in PUBLIC:
            if guard is not None:
                problems.append(f"{route.path} is public but declares {guard.action}")
        elif guard is None:
            problems.append(f"{route.path} has no policy dependency (gateway/authz.py allow)")
        elif guard.action not in EXPECTED:
            problems.append(f"{route.path}: action {guard.action} is not in the matrix")
    return problems


def call(client: TestClient, route: APIRoute, credential: str | None) -> Any:
    """One request to the route with the credential (or none), its path filled from SAMPLE."""
    path = route.path
    for param, value in SAMPLE.items():
        path = path.replace("{" + param + "}", value)
    [method] = route.methods
    headers = {"Authorization": f"Bearer {credential}"} if credential else {}
    params = {"q": "churn"} if path.endswith("/search") else {}
    body = {"json": {}} if method in ("POST", "PUT") else {}
    return client.request(method, path, headers=headers, params=params, **body)


def run(client: TestClient, credentials: dict[str, str]) -> Matrix:
    """Every guarded route × every role, an admin token and each refused credential, each cell judged."""
    matrix = Matrix()
    for route, guard in routes(client.app):
        if guard is None:
            continue
        matrix.routes += 1
        where = f"{sorted(route.methods)[0]} {route.path}"
        for role in ROLES:
            _judge(matrix, f"{where} as {role}", call(client, route, credentials[role]), role, guard.action)
        answer = call(client, route, credentials["admin token"])
        _judge(matrix, f"{where} as an admin token", answer, "admin", guard.action)
        for bad in REFUSED:
            answer = call(client, route, credentials[bad] if bad else None)
            matrix.cells += 1
            if answer.status_code != 401:
                matrix.failures.append(f"{where} with {bad or 'no credentials'}: {_said(answer)}")
    return matrix


def _judge(matrix: Matrix, where: str, answer: Any, role: str, action: str) -> None:
    matrix.cells += 1
    if role in EXPECTED[action]:
        if answer.status_code in (401, 403) or answer.status_code >= 500:
            matrix.failures.append(f"{where}: allowed, yet {_said(answer)}")
        return
    body = answer.json() if answer.headers.get("content-type", "").startswith("application/json") else {}
    if answer.status_code != 403 or body.get("code") != "forbidden" or action not in body.get("message", ""):
        matrix.failures.append(f"{where}: denied, yet {_said(answer)}")


def _said(answer: Any) -> str:
    return f"{answer.status_code} {answer.text[:200]}"
