"""The online store on Redis, with a cluster-ready key layout and generations for atomic replaces.

Key `{prefix}:{<entity key>}:{view}`: the braces are a Redis Cluster hash tag, so every view of one entity lands
in one slot and the values of several views are ONE MGET even on a cluster. Values are JSON objects.

A view's values live in a generation. Generation 0 is the key above; `replace` writes generation N under
`{prefix}:{<entity key>}:{view}@N`, then switches the view's live generation (field `view` of the hash
`{prefix}:generations`) in one HSET, then deletes every other generation of the view. Readers cache the live
generations and send, in one round trip, the MGET of the values and an HMGET of the live generations, values
FIRST: if the generations they read afterwards are the ones they assumed, the switch (and so the deletion of
the old generation) had not happened when the values were read, so the values are a whole generation's.
Otherwise they update their cache and read again. A failed or killed replace never switches; its half-written
generation is deleted on failure, or by the next replace if the writer was killed.

Bookkeeping, so that deleting a generation needs no SCAN of the keyspace: the set
`{prefix}:generation_members:{view}@N` holds the entity keys written to generation N (added before the values,
so it never misses one), and `{prefix}:generations_of:{view}` the generations that may hold keys. Deleting a
generation pops its members 1,000 at a time and UNLINKs their keys with one multi-key UNLINK. Writes are one
MSET per 1,000 entities, which costs a fraction of 1,000 pipelined SETs. Both multi-key commands suit the
single-node client this module opens; a cluster client would have to send them per slot. `clear` still
SCANs, so that it also removes keys written before this bookkeeping existed.

Two replaces of one view at once (overlapping runs): the switch only ever moves to a NEWER generation (a
compare-and-set in one Lua call on the one hash key), and a replace deletes only older generations, so the
newest complete generation wins and the other run's generation is deleted by whichever run finishes last.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Iterable, Sequence
from itertools import islice
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import redis

from zhongtai.connect.redis_url import DEFAULT_PREFIX, redis_client, text
from zhongtai.errors import ZhongtaiError
from zhongtai.features.online.base import Row, encode_values

BATCH_ROWS = 1000
SCAN_COUNT = 5000
# A read retries when a switch happened between its assumption and its values; more than a few in a row means
# replaces are finishing faster than a round trip, which no real materialization does.
_READ_ATTEMPTS = 5
# Switch a view's live generation only forward: KEYS[1] the live hash, ARGV[1] the view, ARGV[2] the generation.
_SWITCH_IF_NEWER = """
local live = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if live < tonumber(ARGV[2]) then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  return 1
end
return 0
"""
_GLOB_SPECIAL = re.compile(r"([*?\[\]\\])")
log = logging.getLogger(__name__)


class RedisOnlineStore:
    """Latest feature values in Redis (see the module docstring)."""

    def __init__(self, client: Any, async_url: str, prefix: str = DEFAULT_PREFIX) -> None:
        self.client = client
        self.prefix = prefix
        # The asyncio client (read_async) is opened on first use from this URL: the sync client's, without
        # the prefix parameter redis-py does not know.
        self._async_url = async_url
        self._async: tuple[asyncio.AbstractEventLoop, Any] | None = None
        self._live_key = f"{prefix}:generations"
        self._sequence_key = f"{prefix}:generation_sequence"
        self._generations: dict[str, int] = {}

    def key(self, view: str, entity: str, generation: int = 0) -> str:
        base = f"{self.prefix}:{{{entity}}}:{view}"
        return base if generation == 0 else f"{base}@{generation}"

    def write(self, view: str, rows: Iterable[Row]) -> int:
        """Upsert into the view's live generation, one MSET per BATCH_ROWS entities (no MULTI)."""
        live = self.client.hget(self._live_key, view)
        return self._set_all(view, rows, int(live) if live is not None else 0)

    def replace(self, view: str, rows: Iterable[Row]) -> int:
        """Write a new generation, switch to it, delete the others (see the module docstring)."""
        generation = int(self.client.hincrby(self._sequence_key, view, 1))
        try:
            written = self._set_all(view, rows, generation)
        except BaseException:
            try:
                self._drop_generation(view, generation)
            except Exception:  # the original failure matters more; the next replace removes the leftovers
                log.warning("could not remove generation %s of view %s", generation, view, exc_info=True)
            raise
        if not self.client.eval(_SWITCH_IF_NEWER, 1, self._live_key, view, generation):
            self._drop_generation(view, generation)  # a newer run switched first: its values stand
            return written
        self._generations[view] = generation
        for old in self.client.smembers(self._generations_of(view)):
            if int(old) < generation:
                self._drop_generation(view, int(old))
        return written

    def read(self, key: str, views: Sequence[str]) -> dict[str, dict[str, Any] | None]:
        """One entity's values for several views in one round trip; None for a view with no value."""
        if not views:
            return {}
        for _ in range(_READ_ATTEMPTS):
            assumed = [self._generations.get(view, 0) for view in views]
            try:
                values, live = self._values_then_generations(self._keys(key, views, assumed), views)
            except redis.RedisError as exc:
                raise _unavailable(exc) from None
            found = self._checked(views, assumed, values, live)
            if found is not None:
                return found
        raise _switched(views)

    async def read_async(self, key: str, views: Sequence[str]) -> dict[str, dict[str, Any] | None]:
        """`read` through the asyncio client: the same round trip and generation check, awaited."""
        if not views:
            return {}
        for _ in range(_READ_ATTEMPTS):
            assumed = [self._generations.get(view, 0) for view in views]
            try:
                values, live = await self._values_then_generations_async(
                    self._keys(key, views, assumed), views
                )
            except (redis.RedisError, OSError) as exc:
                raise _unavailable(exc) from None
            found = self._checked(views, assumed, values, live)
            if found is not None:
                return found
        raise _switched(views)

    def _keys(self, key: str, views: Sequence[str], generations: Sequence[int]) -> list[str]:
        return [self.key(v, key, g) for v, g in zip(views, generations, strict=True)]

    def _checked(
        self, views: Sequence[str], assumed: list[int], values: list, live: list
    ) -> dict[str, dict[str, Any] | None] | None:
        """The values by view when the generations read are the ones assumed; else None, the cache updated
        (the caller reads again)."""
        current = [0 if g is None else int(g) for g in live]
        if current == assumed:
            return {
                view: None if raw is None else json.loads(raw)
                for view, raw in zip(views, values, strict=True)
            }
        self._generations.update(zip(views, current, strict=True))
        return None

    def read_many(self, view: str, keys: Sequence[str]) -> list[dict[str, Any] | None]:
        """Many entities' values of one view: one MGET (and the live generation) in one round trip, with
        the same generation check as `read`. The keys lie in many hash-tag slots: one node's client only."""
        if not keys:
            return []
        for _ in range(_READ_ATTEMPTS):
            assumed = self._generations.get(view, 0)
            try:
                values, live = self._values_then_generations(
                    [self.key(view, k, assumed) for k in keys], [view]
                )
            except redis.RedisError as exc:  # as in read(): the capability answers its fallback
                raise _unavailable(exc) from None
            current = 0 if live[0] is None else int(live[0])
            if current == assumed:
                return [None if raw is None else json.loads(raw) for raw in values]
            self._generations[view] = current
        raise ZhongtaiError(
            "unavailable",
            f"online view {view} switched generations {_READ_ATTEMPTS} times during one read",
            "retry the request",
        )

    def clear(self, view: str) -> None:
        """Delete every value of a view, in every generation: SCAN (never KEYS, which blocks the server)."""
        self.client.hdel(self._live_key, view)
        self._generations.pop(view, None)
        for generation in self.client.smembers(self._generations_of(view)):
            self.client.unlink(self._members(view, int(generation)))
        self.client.unlink(self._generations_of(view))
        pattern = f"{_glob_escape(self.prefix)}:{{*}}:{view}*"
        exact = re.compile(rf"^{re.escape(self.prefix)}:\{{.*\}}:{re.escape(view)}(?:@\d+)?$")
        batch: list[bytes] = []
        for found in self.client.scan_iter(match=pattern, count=SCAN_COUNT):
            if exact.match(text(found)):
                batch.append(found)
            if len(batch) >= BATCH_ROWS:
                self.client.unlink(*batch)
                batch = []
        if batch:
            self.client.unlink(*batch)

    def close(self) -> None:
        self.client.close()

    async def aclose(self) -> None:
        """Close the asyncio client's connections (the sync client is closed by `close`)."""
        if self._async is not None:
            client, self._async = self._async[1], None
            await client.aclose()

    def _async_client(self) -> Any:
        """The asyncio client of the running loop. Its connections belong to the loop that opened them, so a
        new loop (a test's, a restarted server's) gets a client of its own."""
        loop = asyncio.get_running_loop()
        if self._async is None or self._async[0] is not loop:
            import redis.asyncio

            self._async = (loop, redis.asyncio.Redis.from_url(self._async_url))
        return self._async[1]

    async def _values_then_generations_async(
        self, keys: list[str], views: Sequence[str]
    ) -> tuple[list, list]:
        """`_values_then_generations` on a pooled asyncio connection: both commands in one write, two reads."""
        pool = self._async_client().connection_pool
        conn = await pool.get_connection()
        try:
            await conn.send_packed_command(
                conn.pack_commands([("MGET", *keys), ("HMGET", self._live_key, *views)])
            )
            return await conn.read_response(), await conn.read_response()
        except BaseException:
            await conn.disconnect()  # never hand a half-read answer to the next caller
            raise
        finally:
            await pool.release(conn)

    def _values_then_generations(self, keys: list[str], views: Sequence[str]) -> tuple[list, list]:
        """MGET then HMGET in one round trip, sent on a pooled connection directly (a pipeline object costs
        ~15% more per read). The pool replaces a connection the server dropped when it is checked out."""
        pool = self.client.connection_pool
        conn = pool.get_connection()
        try:
            conn.send_packed_command(conn.pack_commands([("MGET", *keys), ("HMGET", self._live_key, *views)]))
            return conn.read_response(), conn.read_response()
        except BaseException:
            conn.disconnect()  # never hand a half-read answer to the next caller
            raise
        finally:
            pool.release(conn)

    def _members(self, view: str, generation: int) -> str:
        return f"{self.prefix}:generation_members:{view}@{generation}"

    def _generations_of(self, view: str) -> str:
        return f"{self.prefix}:generations_of:{view}"

    def _set_all(self, view: str, rows: Iterable[Row], generation: int) -> int:
        self.client.sadd(self._generations_of(view), generation)
        members = self._members(view, generation)
        written = 0
        it = iter(rows)
        while batch := list(islice(it, BATCH_ROWS)):
            pipe = self.client.pipeline(transaction=False)
            pipe.sadd(members, *(entity for entity, _ in batch))  # first: the set never misses a key
            pipe.mset({self.key(view, entity, generation): encode_values(values) for entity, values in batch})
            pipe.execute()
            written += len(batch)
        return written

    def _drop_generation(self, view: str, generation: int) -> None:
        """UNLINK (memory freed in the background) every key of one generation, then its bookkeeping. SPOP
        makes it resumable: a deletion cut short continues where it stopped the next time."""
        members = self._members(view, generation)
        while entities := self.client.spop(members, BATCH_ROWS):
            self.client.unlink(*(self.key(view, text(e), generation) for e in entities))
        self.client.srem(self._generations_of(view), generation)


def _unavailable(exc: BaseException) -> ZhongtaiError:
    # Down, unreachable or slower than the socket timeout: the capability answers its fallback.
    return ZhongtaiError(
        "unavailable",
        f"the online store (Redis) did not answer: {type(exc).__name__}",
        "the answer is the capability's fallback until Redis is back",
    )


def _switched(views: Sequence[str]) -> ZhongtaiError:
    return ZhongtaiError(
        "unavailable",
        f"online views {', '.join(views)} switched generations {_READ_ATTEMPTS} times during one read",
        "retry the request",
    )


def _glob_escape(text: str) -> str:
    return _GLOB_SPECIAL.sub(r"\\\1", text)


# A read that waits longer than this is answered by the fallback: a stalled Redis must not stall decisions.
# `?socket_timeout=` and `?socket_connect_timeout=` in ZT_ONLINE_URL override them (seconds).
TIMEOUTS = {"socket_timeout": "1.0", "socket_connect_timeout": "0.5"}


def open_store(url: str) -> RedisOnlineStore:
    """`redis://host:port/db`, optionally `?prefix=name` for the key prefix (default `zt`) and socket
    timeouts (TIMEOUTS by default)."""
    missing = [f"{name}={seconds}" for name, seconds in TIMEOUTS.items() if f"{name}=" not in url]
    if missing:
        url = f"{url}{'&' if '?' in url else '?'}{'&'.join(missing)}"
    client, prefix = redis_client(url, "online store")
    parts = urlsplit(url)
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "prefix"])
    return RedisOnlineStore(client, urlunsplit(parts._replace(query=query)), prefix)
