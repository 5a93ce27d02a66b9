"""The calls the SDK makes, built and read the same way by `Client` and `AsyncClient` (which only send them).

Every decide gets an Idempotency-Key (a random UUID unless the caller gives one), made once per call and
sent unchanged with each retry, so the gateway answers a retry with the first answer and logs it once.
A governing call that changes something (a key made, a policy applied) has no such key: it is marked not
`safe`, and sent again only when it never left (a refused connection), not when its answer was lost.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from zhongtai import __version__
from zhongtai.client.errors import api_error
from zhongtai.client.retry import parse_retry_after

IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
USER_AGENT = f"zhongtai-client/{__version__}"
# The failures after which a request surely never reached the gateway: the only ones after which a call that
# is not `safe` is sent again.
NEVER_SENT: tuple[type[Exception], ...] = (httpx.ConnectError, httpx.ConnectTimeout)


@dataclass(frozen=True)
class Call:
    """One HTTP request to make (and to make again, unchanged, on a retry)."""

    method: str
    path: str
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, Any] = field(default_factory=dict)
    # Whether sending it twice does what sending it once does (a read, or a decide with its key).
    safe: bool = True


def default_headers(key: str | None, extra: Mapping[str, str] | None) -> dict[str, str]:
    """The headers of every call: the key as a bearer token, the SDK's user agent, and the caller's own."""
    headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    headers.update(extra or {})
    return headers


def decide_call(
    capability: str,
    inputs: Mapping[str, Any] | None,
    fields: Mapping[str, Any],
    idempotency_key: str | None,
) -> Call:
    """`POST /v1/capabilities/{capability}/decide` with the inputs and fields merged (fields win)."""
    body = {**(inputs or {}), **fields}
    return Call("POST", f"{_capability_path(capability)}/decide", body, _idempotent(idempotency_key))


def batch_call(capability: str, inputs: Iterable[Mapping[str, Any]], idempotency_key: str | None) -> Call:
    """`POST /v1/capabilities/{capability}/decide/batch` with one decide body per input."""
    body = {"inputs": [dict(item) for item in inputs]}
    return Call("POST", f"{_capability_path(capability)}/decide/batch", body, _idempotent(idempotency_key))


CAPABILITIES = Call("GET", "/v1/capabilities")


def create_key_call(
    name: str,
    roles: Iterable[str],
    *,
    workspace: str | None,
    owner: str | None,
    scopes: Iterable[str],
    expires: str | None,
) -> Call:
    """`POST /v1/keys`: the answer holds the secret, once."""
    body = {"name": name, "roles": list(roles), "scopes": list(scopes)}
    body |= {k: v for k, v in (("workspace", workspace), ("owner", owner), ("expires", expires)) if v}
    return Call("POST", "/v1/keys", body, safe=False)


KEYS = Call("GET", "/v1/keys")


def rotate_key_call(name: str, grace: str) -> Call:
    """`POST /v1/keys/{name}/rotate`: a new secret, the old one valid for `grace`."""
    return Call("POST", f"/v1/keys/{_segment(name, 'name')}/rotate", {"grace": grace}, safe=False)


def revoke_key_call(name: str) -> Call:
    """`DELETE /v1/keys/{name}` (revoking twice revokes once)."""
    return Call("DELETE", f"/v1/keys/{_segment(name, 'name')}")


def review_call(model: str, version: int, action: str, comment: str) -> Call:
    """`POST /v1/models/{model}/versions/{version}/{action}`: submit, approve, reject or archive."""
    path = f"/v1/models/{_segment(model, 'model')}/versions/{int(version)}/{_segment(action, 'action')}"
    return Call("POST", path, {"comment": comment}, safe=False)


def model_versions_call(model: str | None) -> Call:
    """`GET /v1/models`: every version (of one model) with status and aliases."""
    return Call("GET", "/v1/models", params={"model": model} if model else {})


def version_call(model: str, version: int) -> Call:
    """`GET /v1/models/{model}/versions/{version}`: metrics, aliases and review steps."""
    return Call("GET", f"/v1/models/{_segment(model, 'model')}/versions/{int(version)}")


def alias_call(model: str, alias: str, version: int | None, reason: str) -> Call:
    """`PUT` (point at `version`) or `DELETE` (unset, when `version` is None) `/v1/models/{model}/aliases/{alias}`."""
    path = f"/v1/models/{_segment(model, 'model')}/aliases/{_segment(alias, 'alias')}"
    if version is None:
        return Call("DELETE", path, params={"reason": reason} if reason else {}, safe=False)
    return Call("PUT", path, {"version": int(version), "reason": reason}, safe=False)


def rollback_call(model: str, alias: str, reason: str) -> Call:
    """`POST /v1/models/{model}/aliases/{alias}/rollback`."""
    path = f"/v1/models/{_segment(model, 'model')}/aliases/{_segment(alias, 'alias')}/rollback"
    return Call("POST", path, {"reason": reason}, safe=False)


def traffic_call(capability: str) -> Call:
    """`GET /v1/capabilities/{capability}/traffic`: the policy in force and its recent changes."""
    return Call("GET", f"{_capability_path(capability)}/traffic")


def split_call(capability: str, policy: Mapping[str, Any] | None, reason: str) -> Call:
    """`PUT` a live split (`policy`: arms and shadows) or, with None, `DELETE` it."""
    path = f"{_capability_path(capability)}/traffic"
    if policy is None:
        return Call("DELETE", path, {"reason": reason}, safe=False)
    return Call("PUT", path, {**policy, "reason": reason}, safe=False)


def canary_call(
    capability: str, arm: str, steps: Iterable[float], every: str, complete: str, reason: str
) -> Call:
    """`POST /v1/capabilities/{capability}/traffic/canary`: a guarded ramp of one arm."""
    body = {"arm": arm, "steps": list(steps), "every": every, "complete": complete, "reason": reason}
    return Call("POST", f"{_capability_path(capability)}/traffic/canary", body, safe=False)


def promote_call(capability: str, reason: str) -> Call:
    """`POST /v1/capabilities/{capability}/traffic/promote`: the held canary becomes champion."""
    return Call("POST", f"{_capability_path(capability)}/traffic/promote", {"reason": reason}, safe=False)


AUDIT_VERIFY = Call("GET", "/v1/audit/verify")


def audit_records_call(
    kind: str | None, principal: str | None, object_contains: str | None, limit: int
) -> Call:
    """`GET /v1/audit/records`: newest first, every filter given applied."""
    given = {"kind": kind, "principal": principal, "object": object_contains}
    return Call("GET", "/v1/audit/records", params={k: v for k, v in given.items() if v} | {"limit": limit})


def audit_export_call(after: int) -> Call:
    """`GET /v1/audit/export`: ECS JSON lines, streamed."""
    return Call(
        "GET", "/v1/audit/export", params={"after": after}, headers={"Accept": "application/x-ndjson"}
    )


def policies_call(document: str, source: str, apply: bool) -> Call:
    """`POST /v1/policies/plan` or `/apply` with a `policies` YAML document."""
    body = {"document": document, "source": source}
    return Call("POST", f"/v1/policies/{'apply' if apply else 'plan'}", body, safe=not apply)


def specs_call(document: str, source: str, verb: str, days: int = 7) -> Call:
    """`POST /v1/specs/plan`, `/impact` or `/apply` with a spec document (YAML or JSON text)."""
    body = {"document": document, "source": source}
    params = {"days": days} if verb == "impact" else {}
    return Call("POST", f"/v1/specs/{verb}", body, params=params, safe=verb != "apply")


def export_capability_call(name: str) -> Call:
    """`GET /v1/specs/capabilities/{name}`: its spec and the YAML document declaring it."""
    return Call("GET", f"/v1/specs/capabilities/{_segment(name, 'name')}")


def read_answer(response: httpx.Response) -> tuple[Any, bool]:
    """The JSON body of a successful answer and whether it was replayed; the API's error raised otherwise."""
    if response.is_success:
        return response.json(), response.headers.get(REPLAYED_HEADER) == "true"
    try:
        body = response.json()
    except ValueError:
        body = None
    raise api_error(response.status_code, body, parse_retry_after(response.headers.get("retry-after")))


def _capability_path(capability: str) -> str:
    if not capability:
        raise ValueError("capability must name a capability, e.g. 'churn-risk'")
    return f"/v1/capabilities/{quote(capability, safe='')}"


def _segment(value: str, what: str) -> str:
    if not value:
        raise ValueError(f"{what} must not be empty")
    return quote(value, safe="")


def _idempotent(key: str | None) -> dict[str, str]:
    return {IDEMPOTENCY_HEADER: key or uuid.uuid4().hex}
