"""Idempotency-Key: a retried decide gets the answer of the first attempt, and the decision log one record.

A request carrying `Idempotency-Key` is claimed under a hash of (the caller's key name, the header value),
so two callers' keys never meet, and fingerprinted by a hash of (the operation, the capability, the body
in canonical JSON). The first answer for a claim is kept, with its fingerprint, for
`ZT_IDEMPOTENCY_TTL` seconds (default 24 h) in a store every gateway process shares: Redis (under the online
store's prefix) when `ZT_ONLINE_URL` is Redis, else the SQLite file `$ZT_HOME/idempotency.db`. A small
in-process cache sits in front, so a retry reaching the same process costs no round trip.

Keeping is one atomic put-if-absent (Redis `SET NX GET`, SQLite an upsert that only replaces an expired
row): of two attempts racing, the one that keeps its answer first wins; the other answers the winner's answer
and logs nothing. The same key with another fingerprint is a 409. A body is never stored, only its hash.
Redis is called through its asyncio client, so the event loop never waits on it; SQLite inline, as the online
store's reads are (a local write of a few microseconds, in WAL mode: readers never wait on it, and the only
other writers are the same short upserts of other processes). If the shared store fails, the
request is answered anyway (a decision matters more than deduplication during an outage) and a warning is
logged: a retry reaching another process in that time may then be logged twice.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from zhongtai.config import Settings
from zhongtai.connect.redis_url import redis_client
from zhongtai.connect.sqlite_file import ThreadConnections
from zhongtai.errors import ErrorCode, ZhongtaiError

log = logging.getLogger(__name__)
HEADER = "Idempotency-Key"
MAX_KEY_CHARS = 255
_VISIBLE_ASCII = re.compile(rf"[!-~]{{1,{MAX_KEY_CHARS}}}")
# The cache holds recent answers up to this many bytes in all; a larger answer (a big batch) is not cached.
CACHE_BYTES = 32 * 1024 * 1024
CACHE_ENTRY_BYTES = 1024 * 1024
# A dead Redis must not hold a request for long: the request is answered without the shared store instead.
_REDIS_TIMEOUT_S = 1.0
# SQLite rows past their expiry are deleted at most this often, in batches.
_PURGE_EVERY_S = 60.0
_PURGE_ROWS = 1000


@dataclass(frozen=True)
class Kept:
    """An answer kept for a claim: the fingerprint of the request it answered, when, and the JSON bytes."""

    fingerprint: str
    at: float
    answer: bytes

    def encode(self) -> bytes:
        """The stored form: one header line, then the answer."""
        return f"{self.fingerprint} {self.at!r}\n".encode() + self.answer

    @classmethod
    def decode(cls, stored: bytes) -> Kept:
        """The stored form read back."""
        header, _, answer = stored.partition(b"\n")
        fingerprint, _, at = header.decode().partition(" ")
        return cls(fingerprint, float(at), answer)


@dataclass(frozen=True)
class Claim:
    """What a request with an Idempotency-Key claims: the storage key, and the fingerprint of the request."""

    key: str
    fingerprint: str


class AnswerStore(Protocol):
    """Where kept answers live, shared by every gateway process."""

    async def get(self, key: str) -> Kept | None:
        """The answer kept under `key`, or None (none, or expired)."""
        ...

    async def put_if_absent(self, key: str, kept: Kept, ttl_s: int) -> Kept | None:
        """Keep `kept` unless an unexpired answer is there; returns that earlier answer, or None if kept."""
        ...

    async def aclose(self) -> None: ...


class RedisAnswers:
    """Kept answers as Redis strings `{prefix}:idempotency:<claim>` with an expiry (redis.asyncio)."""

    def __init__(self, client: Any, prefix: str) -> None:
        self.client = client
        self.prefix = f"{prefix}:idempotency:"

    @classmethod
    def from_url(cls, url: str) -> RedisAnswers:
        """On the online store's Redis (`redis://host:port/db?prefix=name`), under its prefix."""
        import redis.asyncio

        _, prefix = redis_client(
            url, "online store"
        )  # checks the URL and reads the prefix, as the store does
        parts = urlsplit(url)
        query = urlencode(
            [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "prefix"]
        )
        client = redis.asyncio.Redis.from_url(
            urlunsplit(parts._replace(query=query)),
            socket_timeout=_REDIS_TIMEOUT_S,
            socket_connect_timeout=_REDIS_TIMEOUT_S,
        )
        return cls(client, prefix)

    async def get(self, key: str) -> Kept | None:
        stored = await self.client.get(self.prefix + key)
        return None if stored is None else Kept.decode(stored)

    async def put_if_absent(self, key: str, kept: Kept, ttl_s: int) -> Kept | None:
        earlier = await self.client.set(self.prefix + key, kept.encode(), nx=True, ex=ttl_s, get=True)
        return None if earlier is None else Kept.decode(earlier)

    async def aclose(self) -> None:
        await self.client.aclose()


_SCHEMA = """
CREATE TABLE IF NOT EXISTS kept_answers (
    claim TEXT PRIMARY KEY,
    expires_at REAL NOT NULL,
    stored BLOB NOT NULL
) WITHOUT ROWID
"""
# Replaces a row only once it has expired, so a live answer is never overwritten.
_KEEP = (
    "INSERT INTO kept_answers (claim, expires_at, stored) VALUES (?, ?, ?) "
    "ON CONFLICT (claim) DO UPDATE SET expires_at = excluded.expires_at, stored = excluded.stored "
    "WHERE kept_answers.expires_at < ?"
)
_PURGE = (
    "DELETE FROM kept_answers WHERE claim IN "
    f"(SELECT claim FROM kept_answers WHERE expires_at < ? LIMIT {_PURGE_ROWS})"
)


class SqliteAnswers:
    """Kept answers in a SQLite file (WAL, a connection per thread), expired rows purged now and then."""

    def __init__(self, path: str) -> None:
        self._connections = ThreadConnections(path)
        with self._connections.get() as con:
            con.execute(_SCHEMA)
        self._purged_at = 0.0

    async def get(self, key: str) -> Kept | None:
        row = (
            self._connections.get()
            .execute(
                "SELECT stored FROM kept_answers WHERE claim = ? AND expires_at >= ?", (key, time.time())
            )
            .fetchone()
        )
        return None if row is None else Kept.decode(row[0])

    async def put_if_absent(self, key: str, kept: Kept, ttl_s: int) -> Kept | None:
        con = self._connections.get()
        now = time.time()
        with con:  # one transaction: the upsert and the read of what won
            con.execute(_KEEP, (key, now + ttl_s, kept.encode(), now))
            if con.execute("SELECT changes()").fetchone()[0] == 1:
                earlier = None
            else:
                earlier = Kept.decode(
                    con.execute("SELECT stored FROM kept_answers WHERE claim = ?", (key,)).fetchone()[0]
                )
            if now - self._purged_at > _PURGE_EVERY_S:
                self._purged_at = now
                con.execute(_PURGE, (now,))
        return earlier

    async def aclose(self) -> None:
        self._connections.close()


def open_answers(settings: Settings) -> AnswerStore:
    """The shared store of kept answers: Redis when the online store is Redis, else a SQLite file in ZT_HOME."""
    if settings.online_url.split(":", 1)[0] in ("redis", "rediss"):
        return RedisAnswers.from_url(settings.online_url)
    Path(settings.home).mkdir(parents=True, exist_ok=True)
    return SqliteAnswers(str(Path(settings.home) / "idempotency.db"))


class Idempotency:
    """Claims, the in-process cache and the shared store, as the decide routes use them."""

    def __init__(self, answers: AnswerStore, ttl_s: int, cache_bytes: int = CACHE_BYTES) -> None:
        self._answers = answers
        self.ttl_s = ttl_s
        self._cache: OrderedDict[str, Kept] = OrderedDict()
        self._cache_bytes = cache_bytes
        self._cached_bytes = 0

    @classmethod
    def open(cls, settings: Settings) -> Idempotency:
        """Idempotency over the shared store the settings name, kept for ZT_IDEMPOTENCY_TTL seconds."""
        return cls(open_answers(settings), settings.idempotency_ttl_seconds)

    def claim(self, header: str | None, principal: str, operation: str, body: Any) -> Claim | None:
        """The claim of a request (None without the header); 422 for a header that is not a key."""
        if header is None:
            return None
        if _VISIBLE_ASCII.fullmatch(header) is None:
            raise ZhongtaiError(
                ErrorCode.INVALID_ARGUMENT,
                f"header {HEADER} must be 1 to {MAX_KEY_CHARS} visible ASCII characters (no spaces)",
                "send a new random key (a UUID) per request, and the same key when retrying it",
            )
        key = hashlib.sha256(f"{principal}\0{header}".encode()).hexdigest()
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        fingerprint = hashlib.sha256(f"{operation}\0{canonical}".encode()).hexdigest()
        return Claim(key, fingerprint)

    def cached(self, claim: Claim) -> bytes | None:
        """The answer this process kept or saw for the claim; a 409 if it answered another request."""
        kept = self._cache.get(claim.key)
        if kept is None:
            return None
        if kept.at + self.ttl_s < time.time():
            self._forget(claim.key)
            return None
        self._cache.move_to_end(claim.key)
        return self._matching(claim, kept)

    async def recall(self, claim: Claim) -> bytes | None:
        """The answer kept for the claim, from the cache or the shared store; a 409 if another request's."""
        answer = self.cached(claim)
        if answer is not None:
            return answer
        try:
            kept = await self._answers.get(claim.key)
        except Exception as exc:
            log.warning("idempotency store unavailable (%s): answering without it", type(exc).__name__)
            return None
        if kept is None:
            return None
        self._remember(claim.key, kept)
        return self._matching(claim, kept)

    async def keep(self, claim: Claim, answer: bytes) -> bytes | None:
        """Keep the answer for the claim. None when it was kept; the earlier answer when another attempt
        kept one first (answer that one, log nothing); a 409 if that was another request's."""
        kept = Kept(claim.fingerprint, time.time(), answer)
        try:
            earlier = await self._answers.put_if_absent(claim.key, kept, self.ttl_s)
        except Exception as exc:
            log.warning("idempotency store unavailable (%s): answering without it", type(exc).__name__)
            earlier = None
        if earlier is not None:
            self._remember(claim.key, earlier)
            return self._matching(claim, earlier)
        self._remember(claim.key, kept)
        return None

    async def aclose(self) -> None:
        """Close the shared store's connections (on the event loop that used them)."""
        await self._answers.aclose()

    def _matching(self, claim: Claim, kept: Kept) -> bytes:
        if kept.fingerprint != claim.fingerprint:
            raise ZhongtaiError(
                ErrorCode.CONFLICT,
                f"header {HEADER} was used before for a different request (another capability, route or "
                "body)",
                "a retry must send the same body to the same route; send a new key for a new request",
            )
        return kept.answer

    def _remember(self, key: str, kept: Kept) -> None:
        size = len(kept.answer)
        if size > CACHE_ENTRY_BYTES:
            return
        self._forget(key)
        self._cache[key] = kept
        self._cached_bytes += size
        while self._cached_bytes > self._cache_bytes:
            _, oldest = self._cache.popitem(last=False)
            self._cached_bytes -= len(oldest.answer)

    def _forget(self, key: str) -> None:
        gone = self._cache.pop(key, None)
        if gone is not None:
            self._cached_bytes -= len(gone.answer)
