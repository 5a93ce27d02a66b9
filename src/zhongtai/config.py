"""Resolved configuration: ZT_HOME plus one URL per store role, with embedded defaults under ZT_HOME, and the
gateway's limits on request bodies."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit, urlunsplit

from zhongtai.errors import ZhongtaiError

ENV_VARS = {
    "home": "ZT_HOME",
    "metadata_url": "ZT_METADATA_URL",
    "lake_url": "ZT_LAKE_URL",
    "offline_engine": "ZT_OFFLINE_ENGINE",
    "online_url": "ZT_ONLINE_URL",
    "bus_url": "ZT_BUS_URL",
    "serving_poll_seconds": "ZT_SERVING_POLL",
    "max_body_bytes": "ZT_MAX_BODY_BYTES",
    "max_json_depth": "ZT_MAX_JSON_DEPTH",
    "max_string_chars": "ZT_MAX_STRING_CHARS",
    "oidc_jwks_url": "ZT_OIDC_JWKS_URL",
    "oidc_issuer": "ZT_OIDC_ISSUER",
    "oidc_audience": "ZT_OIDC_AUDIENCE",
    "oidc_leeway_seconds": "ZT_OIDC_LEEWAY",
    "oidc_roles_claim": "ZT_OIDC_ROLES_CLAIM",
    "oidc_workspace_claim": "ZT_OIDC_WORKSPACE_CLAIM",
    "limits_url": "ZT_LIMITS_URL",
    "limit_per_key": "ZT_LIMIT_PER_KEY",
    "limit_per_workspace": "ZT_LIMIT_PER_WORKSPACE",
    "max_batch_inputs": "ZT_MAX_BATCH_INPUTS",
    "idempotency_ttl_seconds": "ZT_IDEMPOTENCY_TTL",
    "audit_webhook": "ZT_AUDIT_WEBHOOK",
    "decision_writer": "ZT_DECISION_WRITER",
}
# Where a gateway writes its decision log: a process beside it (the default) or a thread of its own.
DECISION_WRITERS = ("process", "thread")
# Generous for a decision or a push of a few hundred rows, small enough that a hostile body costs little.
DEFAULT_MAX_BODY_BYTES = 1024 * 1024
DEFAULT_MAX_JSON_DEPTH = 32
DEFAULT_MAX_STRING_CHARS = 65_536
# A batch decide answers every input before it answers at all: a few hundred keeps that well under a second.
DEFAULT_MAX_BATCH_INPUTS = 500
# How long a decide's Idempotency-Key gives a retry the same answer: a day covers any client's retries.
DEFAULT_IDEMPOTENCY_TTL_SECONDS = 24 * 3600


@dataclass(frozen=True)
class Settings:
    """Where every store lives. Build it with `Settings.from_env()`; pass it down, never read env again."""

    home: Path
    metadata_url: str
    lake_url: str
    offline_engine: str
    online_url: str
    bus_url: str
    # How often each gateway process polls the registry for moved aliases and changed specs (ZT_SERVING_POLL).
    serving_poll_seconds: float = 1.0
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_json_depth: int = DEFAULT_MAX_JSON_DEPTH
    max_string_chars: int = DEFAULT_MAX_STRING_CHARS
    # OIDC bearer tokens (docs/governance.md): accepted only when the JWKS URL is set.
    oidc_jwks_url: str = ""
    oidc_issuer: str = ""
    oidc_audience: str = ""
    oidc_leeway_seconds: float = 60.0
    oidc_roles_claim: str = "roles"
    oidc_workspace_claim: str = "workspace"
    # Rate-limit buckets: shared through Redis when this (or else the online store's URL) is a Redis URL.
    limits_url: str = ""
    # Requests per minute, for every key and every workspace (0: no such limit; policies may add their own).
    limit_per_key: float = 0.0
    limit_per_workspace: float = 0.0
    max_batch_inputs: int = DEFAULT_MAX_BATCH_INPUTS
    idempotency_ttl_seconds: int = DEFAULT_IDEMPOTENCY_TTL_SECONDS
    # Where the audit log's head is also posted after every append (docs/audit.md); "" for nowhere.
    audit_webhook: str = ""
    # Who writes a gateway's decision log (capabilities/decision_writer.py): a process beside it, or a thread.
    decision_writer: str = "process"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from ZT_* environment variables, with embedded defaults for the ones not set."""
        env = os.environ if environ is None else environ
        home = Path(env.get("ZT_HOME") or Path.home() / ".zhongtai").expanduser().absolute()
        return cls(
            home=home,
            metadata_url=env.get("ZT_METADATA_URL") or f"sqlite:///{home / 'metadata.db'}",
            lake_url=env.get("ZT_LAKE_URL") or str(home / "lake"),
            offline_engine=env.get("ZT_OFFLINE_ENGINE") or "duckdb",
            online_url=env.get("ZT_ONLINE_URL") or f"sqlite:///{home / 'online.db'}",
            bus_url=env.get("ZT_BUS_URL") or f"sqlite:///{home / 'bus.db'}",
            serving_poll_seconds=_positive(env, "serving_poll_seconds", 1.0),
            max_body_bytes=_positive(env, "max_body_bytes", DEFAULT_MAX_BODY_BYTES),
            max_json_depth=_positive(env, "max_json_depth", DEFAULT_MAX_JSON_DEPTH),
            max_string_chars=_positive(env, "max_string_chars", DEFAULT_MAX_STRING_CHARS),
            oidc_jwks_url=env.get("ZT_OIDC_JWKS_URL") or "",
            oidc_issuer=env.get("ZT_OIDC_ISSUER") or "",
            oidc_audience=env.get("ZT_OIDC_AUDIENCE") or "",
            oidc_leeway_seconds=_positive(env, "oidc_leeway_seconds", 60.0),
            oidc_roles_claim=env.get("ZT_OIDC_ROLES_CLAIM") or "roles",
            oidc_workspace_claim=env.get("ZT_OIDC_WORKSPACE_CLAIM") or "workspace",
            limits_url=env.get("ZT_LIMITS_URL") or "",
            limit_per_key=_positive(env, "limit_per_key", 0.0) if env.get("ZT_LIMIT_PER_KEY") else 0.0,
            limit_per_workspace=(
                _positive(env, "limit_per_workspace", 0.0) if env.get("ZT_LIMIT_PER_WORKSPACE") else 0.0
            ),
            max_batch_inputs=_positive(env, "max_batch_inputs", DEFAULT_MAX_BATCH_INPUTS),
            idempotency_ttl_seconds=_positive(
                env, "idempotency_ttl_seconds", DEFAULT_IDEMPOTENCY_TTL_SECONDS
            ),
            audit_webhook=(env.get("ZT_AUDIT_WEBHOOK") or "").strip(),
            decision_writer=_choice(env, "decision_writer", DECISION_WRITERS),
        )

    def describe(self) -> dict[str, str]:
        """The configuration as shown to people: every secret in a URL masked."""
        return {key: mask_url(str(value)) for key, value in asdict(self).items()}


Number = TypeVar("Number", int, float)


def _choice(env: Mapping[str, str], field: str, choices: tuple[str, ...]) -> str:
    """A setting that is one of `choices` (the first is the default)."""
    name = ENV_VARS[field]
    text = (env.get(name) or "").strip().lower()
    if not text:
        return choices[0]
    if text not in choices:
        raise ZhongtaiError(
            "invalid_config",
            f"{name} must be one of {', '.join(choices)}, got {text!r}",
            f"unset {name} for the default ({choices[0]})",
        )
    return text


def _positive(env: Mapping[str, str], field: str, default: Number) -> Number:
    """A setting's positive value from its variable (a whole number where the default is one)."""
    name = ENV_VARS[field]
    text = (env.get(name) or "").strip()
    if not text:
        return default
    try:
        value = type(default)(text)
    except ValueError:
        value = type(default)(0)
    if not 0 < value < math.inf:
        what = "whole number" if isinstance(default, int) else "number"
        raise ZhongtaiError(
            "invalid_config",
            f"{name} must be a positive {what}, got {text!r}",
            f"unset {name} for the default ({default})",
        )
    return value


def mask_url(url: str) -> str:
    """Replace the password in a URL (and any token-like query value) with ***."""
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return url
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:***@{host}" if ":" in userinfo else f"{user}@{host}"
    query = "&".join(
        f"{k}=***" if any(s in k.lower() for s in ("password", "token", "secret", "key")) else f"{k}={v}"
        for k, _, v in (item.partition("=") for item in parts.query.split("&") if item)
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
