"""`Client.governance`: governing a platform through its gateway, with a key instead of database credentials.

Every call is authorized by the gateway's policy engine for the key's principal (a 403 `Forbidden` names the
rule that denied) and every change is audited under that principal. Answers are the gateway's JSON, as
plain dicts and lists (the shapes are in the gateway's OpenAPI document, `GET /docs`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from zhongtai.client import calls
from zhongtai.client.calls import Call
from zhongtai.client.errors import ApiError


class Governance:
    """Keys, review steps, aliases, traffic, the audit log and grants; made by `Client.governance`."""

    def __init__(
        self, send: Callable[[Call], tuple[Any, bool]], lines: Callable[[Call], Iterator[str]]
    ) -> None:
        self._send = send
        self._lines = lines

    def _json(self, call: Call) -> dict[str, Any]:
        body = self._send(call)[0]
        if not isinstance(body, dict):
            raise ApiError(200, "unexpected_body", f"{call.method} {call.path} answered no JSON object")
        return body

    def _items(self, call: Call, key: str) -> list[dict[str, Any]]:
        items = self._json(call).get(key)
        if not isinstance(items, list):
            raise ApiError(200, "unexpected_body", f"{call.method} {call.path} answered no list '{key}'")
        return items

    def create_key(
        self,
        name: str,
        roles: Iterable[str] = ("caller",),
        *,
        workspace: str | None = None,
        owner: str | None = None,
        scopes: Iterable[str] = (),
        expires: str | None = None,
    ) -> dict[str, Any]:
        """A new key: `{"key": {...}, "secret": "zt_..."}`; the secret is never shown again."""
        return self._json(
            calls.create_key_call(
                name, roles, workspace=workspace, owner=owner, scopes=scopes, expires=expires
            )
        )

    def keys(self) -> list[dict[str, Any]]:
        """Every key the principal may manage: prefix, roles, workspace, expiry, revocation; no secret."""
        return self._items(calls.KEYS, "keys")

    def rotate_key(self, name: str, grace: str = "24h") -> dict[str, Any]:
        """A new secret for the key (`{"key", "secret"}`); the old one works for `grace` more."""
        return self._json(calls.rotate_key_call(name, grace))

    def revoke_key(self, name: str) -> dict[str, Any]:
        """Revoke the key; the key as it now stands."""
        return self._json(calls.revoke_key_call(name))

    def review(self, model: str, version: int, action: str, comment: str = "") -> dict[str, Any]:
        """`submit`, `approve`, `reject` or `archive` a version; the version after. Four eyes: the principal
        that submitted a version cannot approve it."""
        return self._json(calls.review_call(model, version, action, comment))

    def model_versions(self, model: str | None = None) -> list[dict[str, Any]]:
        """Every version (of `model`) the principal may read, with status and aliases, oldest first."""
        return self._items(calls.model_versions_call(model), "versions")

    def show_version(self, model: str, version: int) -> dict[str, Any]:
        """One version with its metrics, aliases and review steps, and where every alias points."""
        return self._json(calls.version_call(model, version))

    def set_alias(self, model: str, alias: str, version: int, reason: str = "") -> dict[str, Any]:
        """Point `model@alias` at `version`; the move (from, to, who, when, why)."""
        return self._json(calls.alias_call(model, alias, version, reason))

    def remove_alias(self, model: str, alias: str, reason: str = "") -> dict[str, Any]:
        """Unset `model@alias`; the move."""
        return self._json(calls.alias_call(model, alias, None, reason))

    def rollback_alias(self, model: str, alias: str = "champion", reason: str = "") -> dict[str, Any]:
        """Move `model@alias` back to where its last move took it from; the move."""
        return self._json(calls.rollback_call(model, alias, reason))

    def traffic(self, capability: str) -> dict[str, Any]:
        """The capability's traffic policy in force, where it comes from, and its recent changes."""
        return self._json(calls.traffic_call(capability))

    def set_split(
        self,
        capability: str,
        arms: Iterable[Mapping[str, Any]],
        shadows: Iterable[Mapping[str, Any]] = (),
        reason: str = "",
    ) -> dict[str, Any]:
        """Make these arms (and shadows) the live split; the traffic after."""
        policy = {"arms": [dict(a) for a in arms], "shadows": [dict(s) for s in shadows]}
        return self._json(calls.split_call(capability, policy, reason))

    def reset_split(self, capability: str, reason: str = "") -> dict[str, Any]:
        """Drop the live split; the traffic after."""
        return self._json(calls.split_call(capability, None, reason))

    def start_canary(
        self,
        capability: str,
        arm: str,
        steps: Iterable[float] = (5, 25, 50, 100),
        every: str = "10m",
        complete: str = "hold",
        reason: str = "",
    ) -> dict[str, Any]:
        """Start a guarded canary ramp of `arm`; `{"capability", "policy"}`."""
        return self._json(calls.canary_call(capability, arm, steps, every, complete, reason))

    def promote_canary(self, capability: str, reason: str = "") -> dict[str, Any]:
        """Promote the canary waiting at the end of its ramp; `{"capability", "model", "version"}`."""
        return self._json(calls.promote_call(capability, reason))

    def verify_audit(self) -> dict[str, Any]:
        """The audit log's verification report: `ok`, counts, and every problem found."""
        return self._json(calls.AUDIT_VERIFY)

    def audit_records(
        self,
        kind: str | None = None,
        principal: str | None = None,
        object_contains: str | None = None,
        limit: int = 50,
    ) -> list[dict[str, Any]]:
        """Recent audit records, newest first, matching every filter given."""
        return self._items(calls.audit_records_call(kind, principal, object_contains, limit), "records")

    def export_audit(self, after: int = 0) -> Iterator[str]:
        """The log above record `after` as ECS JSON lines (no trailing newline), streamed."""
        return self._lines(calls.audit_export_call(after))

    def plan_policies(self, document: str, source: str = "policies.yaml") -> dict[str, Any]:
        """What applying a `policies` YAML document would change: `{"steps", "applied": false}`."""
        return self._json(calls.policies_call(document, source, apply=False))

    def apply_policies(self, document: str, source: str = "policies.yaml") -> dict[str, Any]:
        """Apply a `policies` YAML document in one audited transaction: `{"steps", "applied"}`."""
        return self._json(calls.policies_call(document, source, apply=True))

    def policies(self) -> dict[str, Any]:
        """The policies in force: `{"policies", "document"}`, the document being the YAML to edit and apply."""
        return self._json(Call("GET", "/v1/policies"))

    def plan_specs(self, document: str, source: str = "capability.yaml") -> dict[str, Any]:
        """What applying a spec document (capabilities) would change: `{"steps", "applied": false}`."""
        return self._json(calls.specs_call(document, source, "plan"))

    def spec_impact(
        self, document: str, source: str = "capability.yaml", days: int = 7
    ) -> list[dict[str, Any]]:
        """Each capability of the document replayed over its decisions of the last `days` days."""
        return self._items(calls.specs_call(document, source, "impact", days), "impacts")

    def apply_specs(self, document: str, source: str = "capability.yaml") -> dict[str, Any]:
        """Apply a spec document in one audited transaction: `{"steps", "applied"}`."""
        return self._json(calls.specs_call(document, source, "apply"))

    def export_capability(self, name: str) -> str:
        """The registered capability as the YAML document a project file holds."""
        return str(self._json(calls.export_capability_call(name))["yaml"])
