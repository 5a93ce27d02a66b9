"""Our side of the feature-store benchmark's serving half: materialize, and online reads in-process and over HTTP.

Run by bench/feature_store.py, one backend per subprocess (`--engine serving --backend sqlite|redis`), on the
history of bench/feast/data.py registered as three feature views `stats_a/b/c` of 8 features (TTL 30 days) of
entity `entity` (join key `entity_id`), in a throwaway ZT_HOME. Measures:

1. `materialize("stats_a")` (the real function: newest build -> latest in-TTL values -> the store's atomic
   replace), first into an empty store, then again over the values it wrote (the steady state: a new
   generation written, switched, the old one deleted);
2. a plain batched upsert of the same values (already in Python, so only serialization and the writes count):
   `executemany` of 1,000-row upserts with a commit each (SQLite) or 1,000-`SET` pipelines (Redis);
3. in-process `read(entity, [stats_a, stats_b, stats_c])` of random entities: p50/p99 and reads/s;
4. the gateway (`zhongtai.gateway.server.serve`, uvicorn, one process, on 127.0.0.1) answering
   `POST /v1/features/online` for 1 random entity x 3 views, under wrk with 8 connections (bench/feast/http_load.py).
"""

from __future__ import annotations

import json
import random
import sqlite3
import subprocess
import sys
import time
import uuid
from itertools import islice
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
VIEWS = ("stats_a", "stats_b", "stats_c")
REDIS = "redis://127.0.0.1:6379/0"
SPECS = """\
entities:
  - {name: entity, join_keys: [entity_id]}
feature_views:
"""
VIEW = """\
  - name: NAME
    entity: entity
    timestamp: event_timestamp
    ttl: 30d
    sql: SELECT entity_id, event_timestamp, f0, f1, f2, f3, f4, f5, f6, f7 FROM history
    features: [FEATURES]
"""


def register(home: Path, history: Path) -> tuple[Any, str]:
    """Metadata for the three views, each with a build that is the history file; returns (store, API key)."""
    import duckdb

    from zhongtai.lake.schema import columns_of
    from zhongtai.meta.store import MetadataStore
    from zhongtai.spec.plan import apply_plan, build_plan
    from zhongtai.spec.project import load_project

    sys.path.insert(0, str(HERE / "feast"))
    from data import FEATURES

    project = home / "project"
    project.mkdir(parents=True)
    features = ", ".join(f"{{name: {f}}}" for f in FEATURES)
    views = "".join(VIEW.replace("NAME", v).replace("FEATURES", features) for v in VIEWS)
    (project / "bench.yaml").write_text(SPECS + views)
    store = MetadataStore(f"sqlite:///{home / 'metadata.db'}")
    apply_plan(build_plan(load_project(project), store), store)
    with duckdb.connect() as con:
        con.execute("SET TimeZone = 'UTC'")
        schema = columns_of(
            con.sql(f"SELECT * FROM read_parquet('{history}') LIMIT 0").to_arrow_table().schema
        )
        rows, newest = con.sql(
            f"SELECT count(*), max(event_timestamp)::TIMESTAMP FROM read_parquet('{history}')"
        ).fetchall()[0]
    for view in VIEWS:
        store.features.add_build(view, rows, [str(history)], schema, {}, newest.isoformat())
    return store, store.access.create_key("bench", ["caller"])


def online_url(backend: str, home: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{home / 'online.db'}"
    return f"{REDIS}?prefix=zt_bench_{uuid.uuid4().hex[:10]}"


def time_materialize(store: Any, lake: Any, url: str) -> dict[str, Any]:
    from zhongtai.features.materialize import materialize
    from zhongtai.features.online import open_online_store

    online = open_online_store(url)
    try:
        started = time.perf_counter()
        written = materialize(store, lake, online, "stats_a")
        first = time.perf_counter() - started
        started = time.perf_counter()
        materialize(store, lake, online, "stats_a")
        again = time.perf_counter() - started
        for view in VIEWS[1:]:
            materialize(store, lake, online, view)
    finally:
        online.close()
    return {"materialize_s": round(first, 3), "materialize_again_s": round(again, 3), "entities": written}


def latest_values(store: Any, lake: Any) -> list[tuple[str, dict[str, Any]]]:
    """stats_a's latest values as Python rows (untimed input of the plain upsert)."""
    from datetime import datetime

    from zhongtai.features.materialize import latest_query
    from zhongtai.features.offline import load_view
    from zhongtai.lake import engine

    view, entity = load_view(store, "stats_a")
    build = store.features.require_build("stats_a")
    con = engine.connect(lake)
    try:
        query = latest_query(view, entity.join_keys, engine.scan(lake, build.files))
        table = con.sql(query, params={"now": datetime.fromisoformat(build.max_timestamp)}).to_arrow_table()
    finally:
        con.close()
    names = [f.name for f in view.features]
    return [(str(r["entity_id"]), {n: r[n] for n in names}) for r in table.to_pylist()]


def plain_upsert(backend: str, home: Path, url: str, rows: list[tuple[str, dict[str, Any]]]) -> float:
    """Seconds to write `rows` the plain way: 1,000-row batches, no generations, no transaction around all."""
    batches = []
    it = iter(rows)
    while batch := list(islice(it, 1000)):
        batches.append(batch)
    if backend == "sqlite":
        con = sqlite3.connect(home / "plain.db")
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=NORMAL")
        con.execute(
            "CREATE TABLE kv (view TEXT, entity_key TEXT, value TEXT, updated_at REAL, "
            "PRIMARY KEY (view, entity_key)) WITHOUT ROWID"
        )
        upsert = (
            "INSERT INTO kv VALUES (?, ?, ?, ?) ON CONFLICT (view, entity_key) DO UPDATE SET "
            "value = excluded.value, updated_at = excluded.updated_at"
        )
        started = time.perf_counter()
        for batch in batches:
            at = time.time()
            with con:
                con.executemany(upsert, [("stats_a", k, json.dumps(v), at) for k, v in batch])
        seconds = time.perf_counter() - started
        con.close()
        return seconds
    import redis

    client = redis.Redis.from_url(url.split("?")[0])
    prefix = url.split("prefix=")[1] + "_plain"
    started = time.perf_counter()
    for batch in batches:
        pipe = client.pipeline(transaction=False)
        for key, values in batch:
            pipe.set(f"{prefix}:{{{key}}}:stats_a", json.dumps(values))
        pipe.execute()
    seconds = time.perf_counter() - started
    _delete_prefix(client, prefix)
    client.close()
    return seconds


def read_in_process(url: str, entities: int, reads: int = 20_000) -> dict[str, Any]:
    from zhongtai.features.online import open_online_store

    online = open_online_store(url)
    rng = random.Random(7)
    keys = [str(rng.randrange(entities)) for _ in range(reads)]
    latencies = []
    found = 0
    try:
        for key in keys[:500]:  # warm-up: connections, statement cache
            online.read(key, VIEWS)
        started = time.perf_counter()
        for key in keys:
            t0 = time.perf_counter()
            values = online.read(key, VIEWS)
            latencies.append(time.perf_counter() - t0)
            found += values["stats_a"] is not None
        seconds = time.perf_counter() - started
    finally:
        online.close()
    latencies.sort()
    return {
        "reads": reads,
        "found": found,
        "rps": round(reads / seconds, 1),
        "p50_ms": round(latencies[reads // 2] * 1000, 4),
        "p99_ms": round(latencies[int(reads * 0.99)] * 1000, 4),
    }


def read_over_http(home: Path, url: str, key: str, entities: int, seconds: int) -> dict[str, Any]:
    """The gateway in its own process, loaded by wrk; checks one answer first."""
    import socket

    import httpx

    sys.path.insert(0, str(HERE / "feast"))
    from http_load import wrk_post

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(home), url, str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {key}"}
    try:
        _wait_healthy(base, server)
        body = {"entities": [1], "views": list(VIEWS)}
        answer = httpx.post(f"{base}/v1/features/online", json=body, headers=headers).json()
        if set(answer["results"][0]["values"]) != set(VIEWS):
            raise RuntimeError(f"the gateway answered {answer}")
        template = json.dumps(body).replace("[1]", "[__ENTITY__]")
        return wrk_post(base, "/v1/features/online", template, entities, headers, 8, 2, seconds)
    finally:
        server.terminate()
        server.wait(timeout=30)


def _wait_healthy(base: str, server: subprocess.Popen) -> None:
    import httpx

    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the gateway did not come up: {server.stderr.read()[-2000:]}")
        time.sleep(0.1)


def serve(home: Path, url: str, port: int) -> None:
    from zhongtai.config import Settings
    from zhongtai.gateway.server import serve as run

    settings = Settings(
        home=home,
        metadata_url=f"sqlite:///{home / 'metadata.db'}",
        lake_url=str(home / "lake"),
        offline_engine="duckdb",
        online_url=url,
        bus_url=f"sqlite:///{home / 'bus.db'}",
    )
    run(settings, port=port)


def _delete_prefix(client: Any, prefix: str) -> None:
    batch = []
    for found in client.scan_iter(match=f"{prefix}:*", count=10_000):
        batch.append(found)
        if len(batch) >= 10_000:
            client.unlink(*batch)
            batch = []
    if batch:
        client.unlink(*batch)


def run(backend: str, history: Path, entities: int, http_seconds: int) -> dict[str, Any]:
    """Every figure of one backend; a throwaway home, Redis keys removed afterwards."""
    import tempfile

    from zhongtai.lake.storage import LakeStorage

    with tempfile.TemporaryDirectory(prefix="zt-serving-") as tmp:
        home = Path(tmp)
        store, key = register(home, history)
        lake = LakeStorage(str(home / "lake"))
        url = online_url(backend, home)
        try:
            figures = time_materialize(store, lake, url)
            figures["plain_upsert_s"] = round(plain_upsert(backend, home, url, latest_values(store, lake)), 3)
            figures["in_process"] = read_in_process(url, entities)
            figures["http"] = read_over_http(home, url, key, entities, http_seconds)
        finally:
            store.close()
            if backend == "redis":
                import redis

                client = redis.Redis.from_url(REDIS)
                _delete_prefix(client, url.split("prefix=")[1])
                client.close()
    return figures


if __name__ == "__main__":
    if sys.argv[1] == "--serve":
        serve(Path(sys.argv[2]), sys.argv[3], int(sys.argv[4]))
