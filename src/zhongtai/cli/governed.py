"""Where the CLI's governed commands act: on the metadata store as a local admin, or through a gateway.

With `ZT_URL` set (and `ZT_KEY` or `ZT_TOKEN`), `zhongtai keys`, the review and alias commands of `zhongtai
models`, `zhongtai capabilities split | canary | promote`, `zhongtai audit` and `zhongtai policies` go
through that gateway's API as the key's (or token's) principal: the gateway's policy engine authorizes
them, its audit log names that principal, and the CLI never opens the metadata store, so no one needs
database credentials to govern. Without `ZT_URL` they act on the store `ZT_METADATA_URL` names, as the
local admin `ZT_PRINCIPAL` names (governed_local.py).

Both backends answer with the gateway's JSON shapes, so every command prints the same either way; this
module is the one place that chooses.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from functools import cache
from typing import Any, Protocol

from zhongtai.errors import ErrorCode, ZhongtaiError

URL_VAR, KEY_VAR, TOKEN_VAR = "ZT_URL", "ZT_KEY", "ZT_TOKEN"


class KeysBackend(Protocol):
    """`zhongtai keys`."""

    def create_key(
        self,
        name: str,
        roles: list[str],
        *,
        workspace: str | None,
        owner: str | None,
        scopes: list[str],
        expires: str | None,
    ) -> dict[str, Any]:
        """`{"key": {...}, "secret": ...}`."""
        ...

    def rotate_key(self, name: str, grace: str) -> dict[str, Any]:
        """`{"key": {...}, "secret": ...}`."""
        ...

    def keys(self) -> list[dict[str, Any]]:
        """Every key, never a secret."""
        ...

    def revoke_key(self, name: str) -> dict[str, Any]:
        """The revoked key."""
        ...


class ReviewBackend(Protocol):
    """The review steps and alias moves of `zhongtai models`."""

    def review(self, reference: str, version: str | None, action: str, comment: str) -> dict[str, Any]:
        """One review step; the version after (model, version, status...)."""
        ...

    def show_version(self, model: str, version: int) -> dict[str, Any]:
        """A version with its aliases and review steps (what `models show --json` prints)."""
        ...

    def move_alias(self, reference: str, version: str | None, alias: str, reason: str) -> dict[str, Any]:
        """Point the alias at the version; the move."""
        ...

    def remove_alias(self, model: str, alias: str, reason: str) -> dict[str, Any]:
        """Unset the alias; the move."""
        ...

    def rollback(self, model: str, alias: str, reason: str) -> dict[str, Any]:
        """Move the alias back; the move."""
        ...


class TrafficBackend(Protocol):
    """`zhongtai capabilities split | canary | promote`."""

    def split(self, capability: str, arms: list[str], reason: str) -> dict[str, Any]:
        """Set a live split from `ALIAS=WEIGHT` assignments; `{"policy": {...}, "by": principal}`."""
        ...

    def reset_split(self, capability: str, reason: str) -> bool:
        """Drop the live split; whether there was one."""
        ...

    def canary(
        self, capability: str, arm: str, steps: list[float], every: str, complete: str, reason: str
    ) -> dict[str, Any]:
        """Start a guarded ramp; the policy set."""
        ...

    def promote(self, capability: str, reason: str) -> tuple[str, int]:
        """Promote the held canary; the (model, version) now champion."""
        ...


class AuditBackend(Protocol):
    """`zhongtai audit`."""

    def verify_audit(self) -> dict[str, Any]:
        """The verification report (what `audit verify --json` prints)."""
        ...

    def audit_records(
        self, kind: str | None, principal: str | None, object_contains: str | None, limit: int
    ) -> list[dict[str, Any]]:
        """Recent records, newest first."""
        ...

    def audit_total(self) -> int | None:
        """How many records the log holds, when the backend can tell cheaply (for a progress bar)."""
        ...

    def export_audit(self, after: int) -> Iterator[str]:
        """ECS JSON lines, each ending in a newline, oldest first."""
        ...


class GrantsBackend(Protocol):
    """`zhongtai policies`."""

    def plan_policies(self, document: str, source: str) -> list[dict[str, Any]]:
        """The plan steps of a policy document; nothing written."""
        ...

    def apply_policies(self, document: str, source: str) -> list[dict[str, Any]]:
        """The plan steps applied (in one audited transaction)."""
        ...


class Governed(KeysBackend, ReviewBackend, TrafficBackend, AuditBackend, GrantsBackend, Protocol):
    """What the governed commands ask of a backend, one small protocol per noun. Answers are JSON-shaped
    dicts (the gateway's own), so a command prints the same whichever backend answered."""

    # "the metadata store" or the gateway's URL: what the commands say they acted on.
    where: str
    # Whether the backend holds the store (so a command may do local follow-up work, like publishing).
    local: bool

    def close(self) -> None:
        """Release what the backend holds of its own (the local store belongs to cli/context.py)."""
        ...


@cache
def backend() -> Governed:
    """The backend the environment chooses: the gateway at ZT_URL, else the local metadata store."""
    return choose(os.environ)


def choose(environ: Mapping[str, str]) -> Governed:
    """The remote backend when `ZT_URL` is set (it then needs `ZT_KEY` or `ZT_TOKEN`), the local one else."""
    url = environ.get(URL_VAR, "").strip()
    if not url:
        from zhongtai.cli.governed_local import LocalGoverned

        return LocalGoverned()
    credential = environ.get(KEY_VAR, "").strip() or environ.get(TOKEN_VAR, "").strip()
    if not credential:
        raise ZhongtaiError(
            ErrorCode.UNAUTHORIZED,
            f"{URL_VAR} is set but neither {KEY_VAR} nor {TOKEN_VAR} is",
            f"set {KEY_VAR} to an API key (or {TOKEN_VAR} to an OIDC token), or unset {URL_VAR} to act "
            "on the metadata store",
        )
    from zhongtai.cli.governed_remote import RemoteGoverned

    return RemoteGoverned(url, credential)


def reset() -> None:
    """Forget the chosen backend, closing its connections (tests change the environment between runs)."""
    if backend.cache_info().currsize:
        backend().close()
    backend.cache_clear()
