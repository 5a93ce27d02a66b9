"""API key checks for the gateway: an in-memory map of key hashes, refreshed from the store when needed.

A known key costs one SHA-256 and one dict lookup. An unknown key reloads the map from the metadata store,
at most once per second, so a key made with `zhongtai keys create` in another process works at once without
a database hit per request. The map is also refreshed every `max_age_s` so revocations reach a running
gateway.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from zhongtai.errors import ZhongtaiError
from zhongtai.meta.access import hash_key


class KeySource(Protocol):
    """`MetadataStore.access` in production."""

    def active_hashes(self) -> dict[str, tuple[str, list[str]]]: ...


@dataclass(frozen=True)
class Principal:
    """Who is calling: the API key's name and its roles."""

    name: str
    roles: tuple[str, ...]


class ApiKeys:
    """Checks API keys against the active keys of the metadata store."""

    def __init__(
        self,
        source: KeySource,
        # A key created a moment ago must work on its first request, so an unknown key reloads the (small)
        # key table; the floor bounds what a stream of bad keys costs the store: at most 20 queries a second.
        min_reload_s: float = 0.05,
        max_age_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._source = source
        self._min_reload_s = min_reload_s
        self._max_age_s = max_age_s
        self._clock = clock
        self._lock = threading.Lock()
        self._known: dict[str, Principal] = {}
        self._loaded_at = -float("inf")
        self.reloads = 0

    def check(self, key: str | None) -> Principal:
        """The principal behind the key; `unauthorized` (401) when it is missing, unknown or revoked."""
        if not key:
            raise ZhongtaiError(
                "unauthorized",
                "missing API key",
                "send it as `Authorization: Bearer <key>` or `X-API-Key: <key>`",
            )
        digest = hash_key(key)
        if self._clock() - self._loaded_at > self._max_age_s:
            self._reload(self._max_age_s)
        principal = self._known.get(digest)
        if principal is None and self._reload(self._min_reload_s):
            principal = self._known.get(digest)
        if principal is None:
            raise ZhongtaiError(
                "unauthorized", "unknown or revoked API key", "create one: zhongtai keys create"
            )
        return principal

    def require(self, key: str | None, roles: tuple[str, ...], doing: str) -> Principal:
        """The principal behind the key if it holds one of `roles` (the first is the one to grant);
        `forbidden` (403) naming the key and what it may not do otherwise."""
        principal = self.check(key)
        if not set(principal.roles) & set(roles):
            raise ZhongtaiError(
                "forbidden",
                f"API key '{principal.name}' may not {doing}",
                f"create a key with --role {roles[0]}",
            )
        return principal

    def _reload(self, min_interval_s: float) -> bool:
        """Load the active keys again unless another thread did so less than `min_interval_s` ago."""
        with self._lock:
            if self._clock() - self._loaded_at < min_interval_s:
                return False
            found = self._source.active_hashes()
            self._known = {h: Principal(name, tuple(roles)) for h, (name, roles) in found.items()}
            self._loaded_at = self._clock()
            self.reloads += 1
            return True
