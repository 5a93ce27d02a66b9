"""Feast, measured on the feature-store benchmark's data. Runs INSIDE bench/.venv-feast (bash bench/feast/setup.sh):

    bench/.venv-feast/bin/python bench/feast/run_feast.py --entities 1000 --times 10 --labels 10000

Builds a Feast repo in a temp dir over the Parquet files of bench/feast/data.py (one FileSource, one entity,
three feature views stats_a/b/c of the same 8 features, TTL 30 days) and measures, each step in a subprocess
of its own so that its peak RSS is its own: get_historical_features with the file and the duckdb offline
stores (seconds, peak RSS, rows returned vs asked), materialize of stats_a to SQLite and to Redis (127.0.0.1,
a unique project name per run, its keys deleted afterwards), online reads with the SDK (1 entity × 3 views ×
8 features) and, unless --no-serve, `feast serve` under 8 connections of wrk. Redis and (unless --no-serve)
wrk are checked first (bench/prerequisites.py; `--check` stops there). Prints a table, then one JSON line of
the figures.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

from data import FEATURES, TTL, asof_join_duckdb, generate  # noqa: E402
from prerequisites import CHECK_HELP, check_only, command, service  # noqa: E402

VIEWS = ("stats_a", "stats_b", "stats_c")
REDIS = "127.0.0.1:6379"


def write_repo(repo: Path, data: Path, project: str, offline: str, online: str) -> None:
    """feature_store.yaml and the definitions' parameters (as JSON) for one store combination."""
    repo.mkdir(parents=True, exist_ok=True)
    online_yaml = (
        f"  type: redis\n  connection_string: {REDIS}\n"
        if online == "redis"
        else f"  type: sqlite\n  path: {repo / 'online.db'}\n"
    )
    (repo / "feature_store.yaml").write_text(
        f"project: {project}\nregistry: {repo / 'registry.db'}\nprovider: local\n"
        f"offline_store:\n  type: {offline}\nonline_store:\n{online_yaml}"
        "entity_key_serialization_version: 3\n"
    )
    (repo / "bench.json").write_text(json.dumps({"history": str(data / "history.parquet")}))


def open_store(repo: Path) -> Any:
    from feast import Entity, FeatureStore, FeatureView, Field, FileSource, ValueType
    from feast.types import Float64, Int64

    history = json.loads((repo / "bench.json").read_text())["history"]
    store = FeatureStore(repo_path=str(repo))
    source = FileSource(name="history", path=history, timestamp_field="event_timestamp")
    entity = Entity(name="entity", join_keys=["entity_id"], value_type=ValueType.INT64)
    schema = [Field(name="entity_id", dtype=Int64), *(Field(name=f, dtype=Float64) for f in FEATURES)]
    views = [
        FeatureView(name=name, entities=[entity], ttl=TTL, schema=schema, source=source, online=True)
        for name in VIEWS
    ]
    store.apply([entity, *views])
    return store


def peak_rss_mib() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def task_historical(repo: Path, labels: Path) -> dict[str, Any]:
    import pyarrow.parquet as pq

    store = open_store(repo)
    entity_df = pq.read_table(labels).to_pandas()
    asked = len(entity_df)
    started = time.perf_counter()
    job = store.get_historical_features(entity_df=entity_df, features=[f"stats_a:{f}" for f in FEATURES])
    result = job.to_arrow()
    seconds = time.perf_counter() - started
    with_value = result.num_rows - result.column("f0").null_count
    return {
        "seconds": round(seconds, 3),
        "peak_rss_mib": peak_rss_mib(),
        "rows_asked": asked,
        "rows_returned": result.num_rows,
        "rows_lost": asked - result.num_rows,
        "rows_with_value": with_value,
    }


def task_materialize(repo: Path, start: str, end: str) -> dict[str, Any]:
    from datetime import datetime

    store = open_store(repo)
    started = time.perf_counter()
    store.materialize(datetime.fromisoformat(start), datetime.fromisoformat(end), feature_views=["stats_a"])
    seconds = time.perf_counter() - started
    return {"seconds": round(seconds, 3), "peak_rss_mib": peak_rss_mib()}


def task_online(repo: Path, start: str, end: str, entities: int, reads: int) -> dict[str, Any]:
    """Materialize the other two views (untimed), then `reads` single-entity reads of 24 features."""
    import random
    from datetime import datetime

    store = open_store(repo)
    store.materialize(
        datetime.fromisoformat(start), datetime.fromisoformat(end), feature_views=list(VIEWS[1:])
    )
    refs = [f"{view}:{f}" for view in VIEWS for f in FEATURES]
    rng = random.Random(7)
    latencies = []
    found = 0
    began = time.perf_counter()
    for _ in range(reads):
        key = rng.randrange(entities)
        started = time.perf_counter()
        row = store.get_online_features(
            features=refs, entity_rows=[{"entity_id": key}], full_feature_names=True
        ).to_dict()
        latencies.append(time.perf_counter() - started)
        found += row["stats_a__f0"][0] is not None
    seconds = time.perf_counter() - began
    latencies.sort()
    return {
        "reads": reads,
        "rps": round(reads / seconds, 1),
        "found": found,
        "p50_ms": round(latencies[len(latencies) // 2] * 1000, 3),
        "p99_ms": round(latencies[int(len(latencies) * 0.99)] * 1000, 3),
    }


def task_serve(repo: Path, entities: int, seconds: int, connections: int = 8) -> dict[str, Any]:
    """`feast serve` on 127.0.0.1 (online store already filled by task_online), loaded by wrk with
    `connections` keep-alive connections for `seconds` (after a 2 s warm-up); see http_load.py."""
    import http.client
    import socket

    from http_load import wrk_post

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    feast = Path(sys.executable).parent / "feast"
    server = subprocess.Popen(
        [str(feast), "-c", str(repo), "serve", "-h", "127.0.0.1", "-p", str(port), "--no-access-log"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    refs = [f"{view}:{f}" for view in VIEWS for f in FEATURES]
    body = json.dumps({"features": refs, "entities": {"entity_id": [0]}, "full_feature_names": True})
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", "/health")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("feast serve did not come up in 60 s")
            time.sleep(0.2)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("POST", "/get-online-features", body, {"Content-Type": "application/json"})
        answer = json.loads(conn.getresponse().read())
        if len(answer["metadata"]["feature_names"]) != 1 + len(refs):
            raise RuntimeError(f"feast serve answered {answer}")
        template = body.replace('"entity_id": [0]', '"entity_id": [__ENTITY__]')
        return wrk_post(
            f"http://127.0.0.1:{port}",
            "/get-online-features",
            template,
            entities,
            None,
            connections,
            2,
            seconds,
        )
    finally:
        server.terminate()
        server.wait(timeout=30)


def run_task(args: list[str], timeout: float = 3600) -> dict[str, Any]:
    """This script with --task ..., in a subprocess; its last stdout line is its JSON result."""
    done = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "failed"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def delete_redis_keys(project: str) -> int:
    import redis

    client = redis.Redis.from_url(f"redis://{REDIS}")
    keys = list(client.scan_iter(match=b"*" + project.encode(), count=10_000))
    for i in range(0, len(keys), 10_000):
        client.delete(*keys[i : i + 10_000])
    return len(keys)


def orchestrate(args: argparse.Namespace) -> None:
    import duckdb
    import feast

    with tempfile.TemporaryDirectory(prefix="zt-feast-") as tmp:
        root = Path(tmp)
        data = generate(root / "data", args.entities, args.times, args.labels)
        started = time.perf_counter()
        reference = asof_join_duckdb(data.history, data.labels, data.ttl)
        asof_s = round(time.perf_counter() - started, 3)
        expected_with_value = reference.num_rows - reference.column("f0").null_count
        project = f"zt_bench_{uuid.uuid4().hex[:10]}"
        start = (data.window_start - timedelta(days=1)).isoformat()
        end = (data.window_end + data.ttl * 3).isoformat()
        results: dict[str, Any] = {}
        for offline in ("file", "duckdb"):
            repo = root / f"repo_{offline}"
            write_repo(repo, data.folder, project, offline, "sqlite")
            results[f"historical_{offline}"] = run_task(["--task", "historical", str(repo), str(data.labels)])
        for online in ("sqlite", "redis"):
            repo = root / f"repo_{online}"
            write_repo(repo, data.folder, project, "file", online)
            try:
                results[f"materialize_{online}"] = run_task(["--task", "materialize", str(repo), start, end])
                if online == "sqlite":
                    results["online_sdk"] = run_task(
                        ["--task", "online", str(repo), start, end, str(args.entities), str(args.reads)]
                    )
                    if not args.no_serve:
                        results["serve"] = run_task(
                            ["--task", "serve", str(repo), str(args.entities), str(args.serve_seconds)]
                        )
            finally:
                if online == "redis":
                    results["redis_keys_deleted"] = delete_redis_keys(project)
    report(args, results, asof_s, expected_with_value, feast.__version__, duckdb.__version__)


def report(
    args: argparse.Namespace,
    results: dict[str, Any],
    asof_s: float,
    expected_with_value: int,
    feast_version: str,
    duckdb_version: str,
) -> None:
    def get(key: str, field: str) -> Any:
        return results.get(key, {}).get(field)

    size = f"{args.entities} entities × {args.times} times, {args.labels} labels"
    print(f"Feast {feast_version} on {size} (TTL 30 days)")
    print(f"{'measure':<44} {'value':>12} {'peak RSS MiB':>13}")
    rows: list[tuple[str, Any, Any]] = [("PIT training set, hand-written DuckDB ASOF (s)", asof_s, None)]
    for store in ("file", "duckdb"):
        key = f"historical_{store}"
        rows += [
            (f"PIT training set, Feast {store} store (s)", get(key, "seconds"), get(key, "peak_rss_mib")),
            (
                f"  rows returned / lost of {args.labels}",
                f"{get(key, 'rows_returned')}/{get(key, 'rows_lost')}",
                None,
            ),
            (f"  rows with a value (expected {expected_with_value})", get(key, "rows_with_value"), None),
        ]
    rows += [
        ("materialize stats_a to SQLite (s)", get("materialize_sqlite", "seconds"), None),
        ("materialize stats_a to Redis (s)", get("materialize_redis", "seconds"), None),
        ("online SDK 1×3×8, p50 (ms)", get("online_sdk", "p50_ms"), None),
        ("online SDK 1×3×8, p99 (ms)", get("online_sdk", "p99_ms"), None),
        ("online SDK 1×3×8, reads/s (one thread)", get("online_sdk", "rps"), None),
        ("feast serve, wrk 8 connections, requests/s", get("serve", "rps"), None),
        ("feast serve, wrk 8 connections, p50 (ms)", get("serve", "p50_ms"), None),
        ("feast serve, wrk 8 connections, p99 (ms)", get("serve", "p99_ms"), None),
    ]
    for name, value, rss in rows:
        print(f"{name:<44} {'-' if value is None else value!s:>12} {'' if rss is None else rss!s:>13}")
    errors = {k: v["error"] for k, v in results.items() if isinstance(v, dict) and "error" in v}
    for key, error in errors.items():
        print(f"{key}: FAILED: {error}")
    print(
        json.dumps(
            {
                "entities": args.entities,
                "times": args.times,
                "labels": args.labels,
                "asof_duckdb_s": asof_s,
                "feast_file_1m_s": get("historical_file", "seconds"),
                "feast_file_peak_rss_mib": get("historical_file", "peak_rss_mib"),
                "feast_duckdb_1m_s": get("historical_duckdb", "seconds"),
                "feast_duckdb_peak_rss_mib": get("historical_duckdb", "peak_rss_mib"),
                "feast_rows_lost": get("historical_file", "rows_lost"),
                "feast_duckdb_rows_lost": get("historical_duckdb", "rows_lost"),
                "feast_materialize_sqlite_s": get("materialize_sqlite", "seconds"),
                "feast_materialize_redis_s": get("materialize_redis", "seconds"),
                "feast_sdk_p50_ms": get("online_sdk", "p50_ms"),
                "feast_sdk_p99_ms": get("online_sdk", "p99_ms"),
                "feast_sdk_rps": get("online_sdk", "rps"),
                "feast_sdk_reads_found": get("online_sdk", "found"),
                "redis_keys_deleted": results.get("redis_keys_deleted"),
                "feast_serve_rps": get("serve", "rps"),
                "feast_serve_p50_ms": get("serve", "p50_ms"),
                "feast_serve_p99_ms": get("serve", "p99_ms"),
                "feast_serve_errors": get("serve", "errors"),
                "errors": errors,
                "versions": {"feast": feast_version, "duckdb": duckdb_version},
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--entities", type=int, default=100_000)
    parser.add_argument("--times", type=int, default=10)
    parser.add_argument("--labels", type=int, default=1_000_000)
    parser.add_argument("--reads", type=int, default=2_000)
    parser.add_argument("--serve-seconds", type=int, default=10)
    parser.add_argument("--no-serve", action="store_true")
    parser.add_argument("--task", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--check", action="store_true", help=CHECK_HELP)
    args = parser.parse_args()
    if not args.task:
        service(
            "Redis", f"redis://{REDIS}", "start it (`redis-server --daemonize yes`): Feast materializes to it"
        )
        if not args.no_serve:
            command("wrk")
        check_only(args.check, "run_feast")
        orchestrate(args)
        return
    name, repo, *rest = args.task
    tasks = {"historical": task_historical, "materialize": task_materialize, "online": task_online}
    tasks["serve"] = task_serve
    typed = [int(x) if x.isdigit() else x for x in rest]
    print(json.dumps(tasks[name](Path(repo), *typed)))


if __name__ == "__main__":
    main()
