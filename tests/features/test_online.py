"""One suite for the online store protocol, run against every backend through the `online` fixture."""

from __future__ import annotations

import threading
import time
import uuid

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


# -- replace: the whole set swapped atomically --------------------------------------------------------------


def _values(generation: int, count: int) -> list[tuple[str, dict]]:
    return [(str(i), {"gen": generation, "x": i}) for i in range(count)]


def test_replace_swaps_the_whole_set_and_leaves_other_views(online):
    online.write("spend", _values(1, 10))
    online.write("profile", [("1", {"tier": "gold"})])
    assert online.replace("spend", _values(2, 5)) == 5
    assert online.read("1", ["spend", "profile"]) == {
        "spend": {"gen": 2, "x": 1},
        "profile": {"tier": "gold"},
    }
    assert online.read("7", ["spend"]) == {"spend": None}  # not in the new set: gone
    online.write("spend", [("7", {"gen": 3, "x": 7})])  # an upsert after a replace lands in the live set
    assert online.read("7", ["spend"]) == {"spend": {"gen": 3, "x": 7}}
    assert online.replace("spend", iter([])) == 0
    assert online.read("1", ["spend", "profile"]) == {"spend": None, "profile": {"tier": "gold"}}


def test_failed_replace_leaves_the_previous_set(online):
    online.replace("spend", _values(1, 3000))

    def failing():
        yield from _values(2, 2500)  # more than two store batches written before the failure
        raise RuntimeError("source went away")

    with pytest.raises(RuntimeError, match="source went away"):
        online.replace("spend", failing())
    assert all(online.read(str(i), ["spend"]) == {"spend": {"gen": 1, "x": i}} for i in range(0, 3000, 7))
    online.clear("spend")
    assert online.read("5", ["spend"]) == {"spend": None}


def test_readers_see_the_old_set_or_the_new_one_during_a_replace(online):
    online.replace("spend", _values(1, 2000))
    seen: list[dict | None] = []
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            seen.append(online.read("1999", ["spend"])["spend"])

    def slow_rows():
        for index, row in enumerate(_values(2, 2000)):
            if index % 500 == 0:
                time.sleep(0.05)  # let the reader in while the new set is half written
            yield row

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        online.replace("spend", slow_rows())
        time.sleep(0.05)
    finally:
        stop.set()
        thread.join()
    assert None not in seen
    generations = [values["gen"] for values in seen]
    assert generations[0] == 1 and generations[-1] == 2
    assert generations == sorted(generations)  # once the new set is visible, the old one never comes back


@pytest.mark.integration
def test_redis_replace_leaves_no_other_generation(tmp_path):
    from zhongtai.features.online.redis import open_store

    prefix = f"zt_test_{uuid.uuid4().hex[:12]}"
    store = open_store(f"redis://127.0.0.1:6379/0?prefix={prefix}")
    try:
        store.write("spend", _values(0, 3))
        store.write("spend_7d", _values(0, 3))  # a view whose name starts with the other's: untouched

        def failing():
            yield from _values(9, 1500)
            raise RuntimeError("boom")

        with pytest.raises(RuntimeError, match="boom"):
            store.replace("spend", failing())
        assert _keys(store, prefix) == {
            f"{prefix}:{{{i}}}:{v}" for i in range(3) for v in ("spend", "spend_7d")
        }
        store.replace("spend", _values(1, 2))
        # generation 1 was handed to the failed replace; the successful one is 2
        assert _keys(store, prefix) == {f"{prefix}:{{{i}}}:spend@2" for i in range(2)} | {
            f"{prefix}:{{{i}}}:spend_7d" for i in range(3)
        }
        assert store.key("spend", "1", 2) == f"{prefix}:{{1}}:spend@2"
        bookkeeping = {k.decode() for k in store.client.scan_iter(match=f"{prefix}:generation*")}
        assert bookkeeping == {
            f"{prefix}:{name}"
            for name in (
                "generations",  # the live generation of each view
                "generation_sequence",
                "generations_of:spend",
                "generation_members:spend@2",
                "generations_of:spend_7d",
                "generation_members:spend_7d@0",
            )
        }
        assert store.client.smembers(f"{prefix}:generations_of:spend") == {b"2"}
    finally:
        for key in store.client.scan_iter(match=f"{prefix}:*"):
            store.client.delete(key)
        store.close()


def _keys(store, prefix: str) -> set[str]:
    return {
        k.decode()
        for k in store.client.scan_iter(match=f"{prefix}:*")
        if not k.decode().startswith(f"{prefix}:generation")
    }


@pytest.mark.integration
def test_redis_read_survives_a_dropped_connection():
    import redis

    from zhongtai.features.online.redis import open_store

    prefix = f"zt_test_{uuid.uuid4().hex[:12]}"
    store = open_store(f"redis://127.0.0.1:6379/0?prefix={prefix}")
    admin = redis.Redis.from_url("redis://127.0.0.1:6379/0")
    try:
        store.write("spend", [("1", {"total": 1.0})])
        pooled = store.client.client_id()  # the pool's one idle connection, reused by the next read
        assert admin.client_kill_filter(_id=pooled) == 1  # as a server restart or an idle timeout would
        assert store.read("1", ["spend"]) == {"spend": {"total": 1.0}}
    finally:
        for key in admin.scan_iter(match=f"{prefix}:*"):
            admin.delete(key)
        admin.close()
        store.close()


def test_overlapping_replaces_leave_the_newer_complete_set(online):
    """Two runs of one view at once: the one that started later wins, whichever finishes first."""
    online.replace("spend", _values(1, 1500))
    started, release = threading.Event(), threading.Event()

    def slow_older():
        for index, row in enumerate(_values(2, 1500)):
            if index == 1200:
                started.set()
                release.wait(30)
            yield row

    older = threading.Thread(target=lambda: online.replace("spend", slow_older()))
    older.start()
    started.wait(30)
    if hasattr(online, "prefix"):  # Redis: the newer run completes while the older one is still writing
        online.replace("spend", _values(3, 1400))
        release.set()
        older.join()
    else:  # SQLite serializes writers: the newer run waits for the older one's commit, then replaces it
        newer = threading.Thread(target=lambda: online.replace("spend", _values(3, 1400)))
        newer.start()
        release.set()
        older.join()
        newer.join()
    assert all(online.read(str(i), ["spend"]) == {"spend": {"gen": 3, "x": i}} for i in range(0, 1400, 7))
    assert online.read("1450", ["spend"]) == {"spend": None}
    if hasattr(online, "prefix"):
        suffixes = {
            k.decode().rsplit("@", 1)[-1] for k in online.client.scan_iter(match=f"{online.prefix}:{{*}}:*")
        }
        assert suffixes == {"3"}  # generation numbers: 1, 2 (the older run), 3 (the newer): only 3 is left


def test_read_many_answers_in_key_order_with_none_for_missing(online):
    keys = [entity_key([p, 7]) for p in range(1200)]  # more than one SELECT's worth of keys
    online.write("stock", [(k, {"in_stock": i % 2 == 0}) for i, k in enumerate(keys)])
    wanted = [keys[3], "5000|7", keys[0], keys[1199]]
    assert online.read_many("stock", wanted) == [
        {"in_stock": False},
        None,
        {"in_stock": True},
        {"in_stock": False},
    ]
    assert online.read_many("stock", []) == []
    assert len(online.read_many("stock", keys)) == 1200


def test_read_many_follows_a_replace(online):
    online.write("stock", [("1|7", {"on_hand": 1})])
    assert online.read_many("stock", ["1|7"]) == [{"on_hand": 1}]
    online.replace("stock", [("1|7", {"on_hand": 5}), ("2|7", {"on_hand": 0})])
    assert online.read_many("stock", ["2|7", "1|7"]) == [{"on_hand": 0}, {"on_hand": 5}]


def test_read_async_answers_as_read_does(online):
    import asyncio

    online.write("spend", [("1", {"total": 10.5})])
    online.write("profile", [("1", {"tier": "金卡"})])

    async def reads() -> list:
        try:
            return [
                await online.read_async("1", ["spend", "profile"]),
                await online.read_async("404", ["spend"]),
                await online.read_async("1", []),
            ]
        finally:
            await online.aclose()

    assert asyncio.run(reads()) == [online.read("1", ["spend", "profile"]), {"spend": None}, {}]
    # A second event loop (another server, another test) reads with a client of its own.
    assert asyncio.run(reads())[0] == {"spend": {"total": 10.5}, "profile": {"tier": "金卡"}}
