"""One suite for the online store protocol, run against every backend through the `online` fixture."""

from __future__ import annotations

import threading

import pytest

from zhongtai.errors import ZhongtaiError
from zhongtai.features.online import OnlineStore, entity_key, open_online_store


def test_backend_implements_the_protocol(online):
    assert isinstance(online, OnlineStore)


def test_write_then_read_several_views_in_one_call(online):
    assert (
        online.write("spend", [("1", {"total": 10.5, "orders": 2}), ("2", {"total": 0.0, "orders": 0})]) == 2
    )
    assert online.write("profile", iter([("1", {"tier": "金卡", "vip": True})])) == 1
    assert online.read("1", ["spend", "profile"]) == {
        "spend": {"total": 10.5, "orders": 2},
        "profile": {"tier": "金卡", "vip": True},
    }
    assert online.read("2", ["profile", "spend"]) == {"profile": None, "spend": {"total": 0.0, "orders": 0}}


def test_missing_entity_and_view_are_none(online):
    online.write("spend", [("1", {"total": 1.0})])
    assert online.read("404", ["spend", "profile"]) == {"spend": None, "profile": None}
    assert online.read("1", ["never_written"]) == {"never_written": None}
    assert online.read("1", []) == {}


def test_overwrite_keeps_the_newest_values(online):
    online.write("spend", [("1", {"total": 1.0, "note": None})])
    online.write("spend", [("1", {"total": 2.0, "note": "x"})])
    assert online.read("1", ["spend"]) == {"spend": {"total": 2.0, "note": "x"}}


def test_clear_removes_one_view_only(online):
    online.write("spend", [(str(i), {"total": float(i)}) for i in range(2500)])  # more than one batch
    online.write("profile", [("1", {"tier": "gold"})])
    online.clear("spend")
    assert online.read("1", ["spend", "profile"]) == {"spend": None, "profile": {"tier": "gold"}}
    assert online.read("2499", ["spend"]) == {"spend": None}


def test_composite_keys_and_concurrent_readers(online):
    key = entity_key([101, "20017"])
    assert key == "101|20017"
    online.write("stock", [(key, {"on_hand": 7})])
    results: list[dict] = []

    def reader() -> None:
        for _ in range(50):
            results.append(online.read(key, ["stock"]))

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [{"stock": {"on_hand": 7}}] * 200


@pytest.mark.unit
def test_unknown_scheme_is_named():
    with pytest.raises(ZhongtaiError, match="unknown scheme 'memcached'"):
        open_online_store("memcached://127.0.0.1:11211")


@pytest.mark.unit
def test_in_memory_sqlite_is_refused():
    with pytest.raises(ZhongtaiError, match="give a file path"):
        open_online_store("sqlite:///:memory:")


@pytest.mark.integration
def test_redis_key_layout_keeps_an_entity_in_one_slot():
    from zhongtai.features.online.redis import open_store

    store = open_store("redis://127.0.0.1:6379/0?prefix=shop")
    try:
        assert store.prefix == "shop"
        assert store.key("spend", "101|20017") == "shop:{101|20017}:spend"
    finally:
        store.close()
