"""The stores of kept answers (Redis, SQLite) and the in-process cache in front of them, without a gateway."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest

from tests.capabilities.world import online_url
from zhongtai.config import Settings
from zhongtai.errors import ZhongtaiError
from zhongtai.gateway.idempotency import (
    AnswerStore,
    Idempotency,
    Kept,
    RedisAnswers,
    SqliteAnswers,
    open_answers,
)

pytestmark = pytest.mark.integration


def settings(tmp_path: Path, online: str) -> Settings:
    return Settings(
        home=tmp_path / "home",
        metadata_url=f"sqlite:///{tmp_path / 'metadata.db'}",
        lake_url=str(tmp_path / "lake"),
        offline_engine="duckdb",
        online_url=online,
        bus_url=f"sqlite:///{tmp_path / 'bus.db'}",
    )


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_the_first_answer_kept_wins(kind, tmp_path):
    first = Kept("f1", 1.5, b'{"decision_id": "a"}')

    async def run(answers: AnswerStore) -> None:
        assert await answers.get("claim") is None
        assert await answers.put_if_absent("claim", first, 60) is None
        assert await answers.put_if_absent("claim", Kept("f2", 2.0, b"{}"), 60) == first
        assert await answers.get("claim") == first
        assert await answers.get("other") is None
        await answers.aclose()

    with online_url(kind, tmp_path) as url:
        asyncio.run(run(open_answers(settings(tmp_path, url))))


def test_an_expired_answer_is_gone_and_may_be_replaced(tmp_path):
    async def run(answers: SqliteAnswers) -> None:
        assert await answers.put_if_absent("claim", Kept("f1", 1.0, b"old"), 0) is None  # expires at once
        assert await answers.get("claim") is None
        newer = Kept("f2", 2.0, b"new")
        assert await answers.put_if_absent("claim", newer, 60) is None
        assert await answers.get("claim") == newer
        await answers.aclose()

    asyncio.run(run(SqliteAnswers(str(tmp_path / "idempotency.db"))))


def test_the_sqlite_store_lives_in_zt_home_and_redis_under_the_online_prefix(tmp_path):
    opened = open_answers(settings(tmp_path, f"sqlite:///{tmp_path / 'online.db'}"))
    assert isinstance(opened, SqliteAnswers) and (tmp_path / "home" / "idempotency.db").exists()
    asyncio.run(opened.aclose())

    async def run(store: RedisAnswers, prefix: str) -> None:
        await store.put_if_absent("claim", Kept("f", 1.0, b"{}"), 60)
        assert store.prefix == f"{prefix}:idempotency:"
        assert await store.client.exists(f"{prefix}:idempotency:claim") == 1
        assert 0 < await store.client.ttl(f"{prefix}:idempotency:claim") <= 60
        await store.aclose()

    with online_url("redis", tmp_path) as url:
        store = open_answers(settings(tmp_path, url))
        assert isinstance(store, RedisAnswers)
        asyncio.run(run(store, url.split("prefix=")[1]))


class _Unreachable:
    """A shared store that is down."""

    async def get(self, key):
        raise ConnectionError("down")

    async def put_if_absent(self, key, kept, ttl_s):
        raise ConnectionError("down")

    async def aclose(self) -> None:
        pass


def test_a_store_that_is_down_costs_deduplication_not_the_answer(caplog):
    idempotency = Idempotency(_Unreachable(), ttl_s=60)
    claim = idempotency.claim("k", "crm", "decide x", {"customer_id": 1})
    assert asyncio.run(idempotency.recall(claim)) is None
    assert asyncio.run(idempotency.keep(claim, b"answer")) is None
    assert "idempotency store unavailable (ConnectionError)" in caplog.text
    # This process still answers its own retries from its cache.
    assert idempotency.cached(claim) == b"answer"


def test_the_cache_holds_a_bounded_number_of_bytes(tmp_path):
    idempotency = Idempotency(SqliteAnswers(str(tmp_path / "i.db")), ttl_s=60, cache_bytes=10)
    claims = [idempotency.claim(f"k{i}", "crm", "decide x", {"i": i}) for i in range(3)]

    async def run() -> None:
        for claim in claims:
            await idempotency.keep(claim, b"12345")
        assert [idempotency.cached(c) for c in claims] == [None, b"12345", b"12345"]
        # The store still has the one the cache let go.
        assert await idempotency.recall(claims[0]) == b"12345"
        await idempotency.aclose()

    asyncio.run(run())


def test_a_claim_is_per_caller_and_a_fingerprint_per_request():
    idempotency = Idempotency(_Unreachable(), ttl_s=60)
    one = idempotency.claim("k", "crm", "decide x", {"a": 1, "b": [1, 2]})
    assert one == idempotency.claim("k", "crm", "decide x", {"b": [1, 2], "a": 1})
    assert one.key != idempotency.claim("k", "erp", "decide x", {"a": 1, "b": [1, 2]}).key
    assert one.fingerprint != idempotency.claim("k", "crm", "decide y", {"a": 1, "b": [1, 2]}).fingerprint
    assert idempotency.claim(None, "crm", "decide x", {}) is None
    asyncio.run(idempotency.keep(one, b"first"))
    other_body = dataclasses.replace(one, fingerprint="another")
    with pytest.raises(ZhongtaiError, match="was used before for a different request"):
        idempotency.cached(other_body)
