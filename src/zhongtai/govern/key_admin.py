"""Making, rotating and revoking API keys on behalf of a principal: what the CLI on the store and the
gateway's key routes both do, each after its own policy check (`manage_keys`), with the rule that allowed it
going into the audit log. The secret is in the answer and nowhere else."""

from __future__ import annotations

from typing import Any

from zhongtai.meta.store import MetadataStore
from zhongtai.meta.time import now
from zhongtai.spec.base import duration


def key_info(store: MetadataStore, name: str) -> dict[str, Any]:
    """One key as listings show it (never its secret)."""
    listed = store.access.keys()
    return next(k.to_dict() for k in listed if k.name == name)


def create_key(
    store: MetadataStore,
    name: str,
    roles: list[str],
    who: str,
    rule: str,
    *,
    owner: str | None,
    workspace: str | None,
    scopes: list[str],
    expires: str | None,
    where: str = "expires",
) -> dict[str, Any]:
    """A new key (`expires`: a duration from now, named `where` in an error) and its secret."""
    expires_at = now() + duration(expires, where) if expires else None
    secret = store.access.create_key(
        name, roles, who, rule, owner=owner, workspace=workspace, scopes=scopes, expires_at=expires_at
    )
    return {"key": key_info(store, name), "secret": secret}


def rotate_key(
    store: MetadataStore, name: str, grace: str, who: str, rule: str, where: str = "grace"
) -> dict[str, Any]:
    """A new secret for the key; the old one works for `grace` more."""
    secret = store.access.rotate(name, duration(grace, where), who, rule)
    return {"key": key_info(store, name), "secret": secret}


def revoke_key(store: MetadataStore, name: str, who: str, rule: str) -> dict[str, Any]:
    """Revoke the key (and a rotated-out secret in its grace)."""
    store.access.revoke(name, who, rule)
    return key_info(store, name)
