"""API key checks for the gateway: an in-memory map of key hashes, refreshed from the store when needed.

A known key costs one SHA-256 and one dict lookup (plus a clock read when it expires). An unknown key
reloads the map from the metadata store, at most once per `min_reload_s`, so a key made with
`zhongtai keys create` in another process works at once; after that reload a still unknown hash goes into a
bounded LRU of unknown hashes, so the same wrong key sent again costs no database query at all (a new key
has a new hash, never one in that LRU). The map is refreshed every `max_age_s`, so revocations and rotations
reach a running gateway; expiry (a key's own, or the end of a rotation's grace) is checked on every request.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

from zhongtai.errors import ZhongtaiError
from zhongtai.govern.principal import Principal
from zhongtai.meta.access import hash_key
from zhongtai.meta.records import ActiveKey

MAX_WAIT_S = 0.05  # the longest a check waits for the reload interval to pass
UNKNOWN_CACHE_SIZE = 10_000


class KeySource(Protocol):
    """`MetadataStore.access` in production."""

    def active_hashes(self) -> dict[str, ActiveKey]: ...


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
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        unknown_cache_size: int = UNKNOWN_CACHE_SIZE,
    ) -> None:
        self._source = source
        self._min_reload_s = min_reload_s
        self._max_age_s = max_age_s
        self._clock = clock
        self._wall_clock = wall_clock
        self._lock = threading.Lock()
        self._known: dict[str, tuple[Principal, datetime | None]] = {}
        self._unknown: OrderedDict[str, None] = OrderedDict()
        self._unknown_size = unknown_cache_size
        self._loaded_at = -float("inf")
        self.reloads = 0

    def check(self, key: str | None) -> Principal:
        """The principal behind the key; `unauthorized` (401) when it is missing, unknown, expired or revoked."""
        found = self.cached(key)
        if found is not None:
            return found
        digest = hash_key(key or "")
        stale = self._clock() - self._loaded_at > self._max_age_s
        reloaded = self._reload(self._max_age_s if stale else self._min_reload_s)
        found = self._valid(digest)
        if found is None and not reloaded:
            # The map was loaded a moment ago, perhaps just before this key was made (the request that made
            # it reloaded it): wait out the rest of a short interval (off the event loop) and look once more,
            # so a new key works on its first request instead of being remembered as unknown.
            remaining = self._min_reload_s - (self._clock() - self._loaded_at)
            if remaining <= MAX_WAIT_S:
                time.sleep(max(0.0, remaining))
                self._reload(self._min_reload_s)
                found = self._valid(digest)
        if found is None:
            self._remember_unknown(digest)
            raise _unknown()
        return found

    def cached(self, key: str | None) -> Principal | None:
        """The principal when memory knows the key (no I/O); None when the store must be asked (`check`).
        Raises `unauthorized` for a missing key, an expired one, or one already found unknown."""
        if not key:
            raise ZhongtaiError(
                "unauthorized",
                "missing API key",
                "send it as `Authorization: Bearer <key>` or `X-API-Key: <key>`",
            )
        if self._clock() - self._loaded_at > self._max_age_s:
            return None
        digest = hash_key(key)
        if digest in self._unknown:
            # Least recently sent falls out first; another thread may have evicted it meanwhile.
            with contextlib.suppress(KeyError):
                self._unknown.move_to_end(digest)
            raise _unknown()
        return self._valid(digest)

    def _valid(self, digest: str) -> Principal | None:
        entry = self._known.get(digest)
        if entry is None:
            return None
        principal, expires_at = entry
        if expires_at is not None and self._wall_clock() >= expires_at:
            raise ZhongtaiError(
                "unauthorized",
                f"API key '{principal.name}' has expired",
                "rotate or create a key: zhongtai keys rotate NAME",
            )
        return principal

    def _remember_unknown(self, digest: str) -> None:
        with self._lock:
            self._unknown[digest] = None
            self._unknown.move_to_end(digest)
            while len(self._unknown) > self._unknown_size:
                self._unknown.popitem(last=False)

    def _reload(self, min_interval_s: float) -> bool:
        """Load the active keys again unless another thread did so less than `min_interval_s` ago."""
        with self._lock:
            if self._clock() - self._loaded_at < min_interval_s:
                return False
            found = self._source.active_hashes()
            self._known = {
                digest: (
                    Principal(key.name, key.roles, workspace=key.workspace, scopes=key.scopes),
                    key.expires_at,
                )
                for digest, key in found.items()
            }
            # A hash seen as unknown may belong to a key made since; a rotated key's new hash is new anyway.
            self._unknown = OrderedDict((d, None) for d in self._unknown if d not in self._known)
            self._loaded_at = self._clock()
            self.reloads += 1
            return True


def _unknown() -> ZhongtaiError:
    return ZhongtaiError("unauthorized", "unknown or revoked API key", "create one: zhongtai keys create")
