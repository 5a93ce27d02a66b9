"""Rate limits: token buckets per key and per workspace, in memory and on a real Redis on 127.0.0.1."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import yaml

from zhongtai.govern.limits import Limits, MemoryBuckets, RateLimited, RedisBuckets
from zhongtai.govern.policy import PolicyEngine
from zhongtai.govern.principal import Principal
from zhongtai.spec.policy import PolicySpec

REDIS_URL = "redis://127.0.0.1:6379/0"
POLICY = """\
name: quotas
limits:
  - {name: per_app, principals: ["role:app"], per_minute: 60, burst: 3}
  - {name: marketing, principals: ["workspace:marketing"], per_minute: 120, burst: 5, shared_by: workspace}
"""
ENGINE = PolicyEngine([PolicySpec.model_validate(yaml.safe_load(POLICY))])
APP = Principal("crm", ("app",))
FREE = Principal("batch", ("analyst",))


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def _outcomes(limits: Limits, principal: Principal, count: int) -> list[int]:
    """0 for each request let through, else its Retry-After."""
    found = []
    for _ in range(count):
        try:
            await limits.take(ENGINE, principal)
            found.append(0)
        except RateLimited as limited:
            found.append(limited.retry_after)
    return found


def test_a_key_gets_its_burst_then_429_with_retry_after_then_tokens_again_as_time_passes():
    clock = Clock()
    limits = Limits(MemoryBuckets(clock))
    assert asyncio.run(_outcomes(limits, APP, 5)) == [0, 0, 0, 1, 1]
    clock.now += 2.0  # one token a second
    assert asyncio.run(_outcomes(limits, APP, 3)) == [0, 0, 1]


def test_a_workspace_bucket_is_shared_by_its_keys_and_names_the_limit():
    clock = Clock()
    limits = Limits(MemoryBuckets(clock))
    first = Principal("campaigns", (), workspace="marketing")
    second = Principal("segments", (), workspace="marketing")
    assert asyncio.run(_outcomes(limits, first, 3)) == [0, 0, 0]
    assert asyncio.run(_outcomes(limits, second, 3)) == [0, 0, 1]
    with pytest.raises(RateLimited, match=r"rate limit quotas\.marketing reached") as limited:
        asyncio.run(limits.take(ENGINE, second))
    assert limited.value.http_status == 429


def test_a_principal_no_limit_names_is_not_limited_unless_configured():
    clock = Clock()
    assert asyncio.run(_outcomes(Limits(MemoryBuckets(clock)), FREE, 50)) == [0] * 50
    configured = Limits(MemoryBuckets(clock), per_key=2)
    assert asyncio.run(_outcomes(configured, FREE, 3)) == [0, 0, 30]


def test_nothing_is_taken_when_one_bucket_is_short():
    clock = Clock()
    store = MemoryBuckets(clock)
    limits = Limits(store)
    both = Principal("crm-marketing", ("app",), workspace="marketing")
    assert asyncio.run(_outcomes(limits, both, 4)) == [0, 0, 0, 1]
    # The workspace bucket kept its tokens while the key's bucket refused: two more for another key.
    other = Principal("segments", (), workspace="marketing")
    assert asyncio.run(_outcomes(limits, other, 3)) == [0, 0, 1]


@pytest.mark.integration
def test_redis_buckets_are_shared_by_every_process_and_expire():
    prefix = f"zt_test_limits:{uuid.uuid4().hex[:8]}:"

    async def scenario() -> tuple[list[int], list[int], int]:
        # Two gateway processes: two clients on one server, one bucket.
        one, two = RedisBuckets(REDIS_URL, prefix), RedisBuckets(REDIS_URL, prefix)
        try:
            first = await _outcomes(Limits(one), APP, 2)
            second = await _outcomes(Limits(two), APP, 2)
            ttl = await one._client.pttl(prefix + "quotas.per_app:key:crm")
            return first, second, ttl
        finally:
            keys = [k async for k in one._client.scan_iter(match=prefix + "*")]
            if keys:
                await one._client.delete(*keys)
            await one.close()
            await two.close()

    first, second, ttl = asyncio.run(scenario())
    assert first == [0, 0]
    assert second == [0, 1]
    assert 0 < ttl <= 4000  # full again after three seconds, plus one
