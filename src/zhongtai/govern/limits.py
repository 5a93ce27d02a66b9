"""Rate limits: token buckets per key and per workspace, in memory or shared through Redis.

A bucket holds up to `burst` tokens and refills at `rate` tokens a second; a request takes one token from
every bucket that applies to its principal (the policies' `limits`, plus ZT_LIMIT_PER_KEY and
ZT_LIMIT_PER_WORKSPACE), all or none: when one bucket is short nothing is taken and the caller gets 429 with
`Retry-After` (whole seconds until that bucket holds a token again).

In memory the buckets are per process. When ZT_LIMITS_URL, or else ZT_ONLINE_URL, is a Redis URL, every
gateway process draws from the same buckets: one Lua script checks and takes atomically on the server, with
the server's clock (gateways' clocks never disagree about a refill), in one round trip, awaited on the
event loop through redis.asyncio. A bucket key expires once it would be full again, so idle keys cost nothing.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from zhongtai.errors import ErrorCode, ZhongtaiError
from zhongtai.govern.policy import Bucket, PolicyEngine
from zhongtai.govern.principal import Principal

REDIS_PREFIX = "zt:limits:"


class RateLimited(ZhongtaiError):
    """429: a bucket is empty; `retry_after` is how many whole seconds until it holds a token."""

    def __init__(self, limit: str, retry_after: int) -> None:
        super().__init__(
            ErrorCode.RATE_LIMITED,
            f"rate limit {limit} reached",
            f"retry after {retry_after} s, or ask an admin to raise the limit",
        )
        self.retry_after = retry_after


class BucketStore(Protocol):
    """Where bucket levels live: this process, or Redis."""

    async def take(self, buckets: Sequence[Bucket]) -> tuple[float, int]:
        """Take one token from every bucket, or none: (0, -1) when taken, else (seconds until the short
        bucket holds a token, its index)."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


class MemoryBuckets:
    """Buckets in this process (a lock makes the all-or-none take safe across threads)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._levels: dict[str, tuple[float, float]] = {}  # id -> (tokens, at)

    async def take(self, buckets: Sequence[Bucket]) -> tuple[float, int]:
        return self.take_now(buckets)

    def take_now(self, buckets: Sequence[Bucket]) -> tuple[float, int]:
        """The synchronous take (the async one only wraps it)."""
        with self._lock:
            at = self._clock()
            levels = []
            wait, short = 0.0, -1
            for index, bucket in enumerate(buckets):
                tokens, last = self._levels.get(bucket.id, (bucket.burst, at))
                tokens = min(bucket.burst, tokens + (at - last) * bucket.rate)
                levels.append(tokens)
                if tokens < 1.0 and (1.0 - tokens) / bucket.rate > wait:
                    wait, short = (1.0 - tokens) / bucket.rate, index
            if short >= 0:
                return wait, short
            for bucket, tokens in zip(buckets, levels, strict=True):
                self._levels[bucket.id] = (tokens - 1.0, at)
            return 0.0, -1

    async def close(self) -> None:
        return None


# KEYS: one per bucket; ARGV: rate and burst of each, in order. Returns 0 when a token was taken from every
# bucket, else {milliseconds until the short bucket holds one, its 1-based index} (and takes nothing).
_TAKE = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) + tonumber(now_parts[2]) / 1000000
local levels = {}
local wait = 0
local short = 0
for i, key in ipairs(KEYS) do
  local rate = tonumber(ARGV[2 * i - 1])
  local burst = tonumber(ARGV[2 * i])
  local state = redis.call('HMGET', key, 'tokens', 'at')
  local tokens = tonumber(state[1]) or burst
  local at = tonumber(state[2]) or now
  tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
  levels[i] = tokens
  if tokens < 1 and (1 - tokens) / rate > wait then
    wait = (1 - tokens) / rate
    short = i
  end
end
if short > 0 then return {math.ceil(wait * 1000), short} end
for i, key in ipairs(KEYS) do
  local rate = tonumber(ARGV[2 * i - 1])
  local burst = tonumber(ARGV[2 * i])
  redis.call('HSET', key, 'tokens', tostring(levels[i] - 1), 'at', tostring(now))
  redis.call('PEXPIRE', key, math.ceil(burst / rate * 1000) + 1000)
end
return {0, 0}
"""


class RedisBuckets:
    """Buckets every gateway process shares, on a Redis server."""

    def __init__(self, url: str, prefix: str = REDIS_PREFIX) -> None:
        import redis.asyncio

        self._client: Any = redis.asyncio.from_url(url)
        self._script = self._client.register_script(_TAKE)
        self.prefix = prefix

    async def take(self, buckets: Sequence[Bucket]) -> tuple[float, int]:
        keys = [self.prefix + bucket.id for bucket in buckets]
        args: list[float] = []
        for bucket in buckets:
            args += [bucket.rate, bucket.burst]
        wait_ms, short = await self._script(keys=keys, args=args)
        return int(wait_ms) / 1000.0, int(short) - 1

    async def close(self) -> None:
        await self._client.aclose()


def open_buckets(url: str) -> BucketStore:
    """Redis buckets for a redis:// or rediss:// URL, this process's buckets otherwise."""
    if url.startswith(("redis://", "rediss://")):
        return RedisBuckets(url)
    return MemoryBuckets()


class Limits:
    """The rate limits a gateway enforces: the policies' and the configured per-key and per-workspace ones."""

    def __init__(
        self, store: BucketStore, per_key: float | None = None, per_workspace: float | None = None
    ) -> None:
        self.store = store
        self._per_key = per_key
        self._per_workspace = per_workspace

    def buckets(self, engine: PolicyEngine, principal: Principal) -> tuple[Bucket, ...]:
        """Every bucket a request of `principal` draws from."""
        found = engine.buckets(principal)
        if self._per_key:
            found += (
                Bucket(
                    f"config.per_key:{principal.tokens[1]}",
                    self._per_key / 60,
                    self._per_key,
                    "ZT_LIMIT_PER_KEY",
                ),
            )
        if self._per_workspace and principal.workspace:
            found += (
                Bucket(
                    f"config.per_workspace:workspace:{principal.workspace}",
                    self._per_workspace / 60,
                    self._per_workspace,
                    "ZT_LIMIT_PER_WORKSPACE",
                ),
            )
        return found

    async def take(self, engine: PolicyEngine, principal: Principal) -> None:
        """Take a token for one request; `RateLimited` (429, Retry-After) when a bucket is empty."""
        buckets = self.buckets(engine, principal)
        if not buckets:
            return
        wait, short = await self.store.take(buckets)
        if short >= 0:
            raise RateLimited(buckets[short].limit, max(1, math.ceil(wait)))
