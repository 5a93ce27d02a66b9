"""The feature store against Feast 0.67 and hand-written baselines, on the same data in one run.

    python bench/feature_store.py [--entities 100000] [--times 10] [--labels 1000000] [--http-seconds 10]
                                  [--no-feast] [--no-stream] [--check]

The data come from bench/feast/data.py (history of entities x times rows with 8 features, labels of which
some have no value inside the 30-day TTL). Each engine runs in a subprocess, so its time and peak memory are
its own. Before the long part the bench checks what it needs (bench/prerequisites.py): wrk, the HTTP load
client of both Feast's server and ours (bench/feast/http_load.py; installed with apt-get when run as root,
otherwise the bench stops with the command), Redis on 127.0.0.1:6379, NATS for the streaming figures, and
Feast's own environment, which it creates or brings up to date (bench/feast/setup.sh). `--check` stops there.

- Point-in-time training set: `zhongtai.features.training.point_in_time_join` on the same Parquet files,
  checked to return every label row with the reference's values; a hand-written DuckDB ASOF JOIN; Feast's
  file and duckdb offline stores.
- Materialize 100k entities' latest values and online reads of 1 entity x 3 views x 8 features, on SQLite
  and on Redis (bench/feature_store_serving.py), against a plain batched upsert and Feast's materialize, SDK
  and `feast serve`.
- Streaming: bench/stream.py's `run()` when that module is present.

Prints one table; the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

from prerequisites import CHECK_HELP, check_only, command, peer_environment, service

HERE = Path(__file__).resolve().parent
REDIS = "redis://127.0.0.1:6379/0"


def _ours(folder: Path) -> dict:
    import duckdb
    import pyarrow.compute as pc

    from zhongtai.features.training import point_in_time_join
    from zhongtai.lake.offline.duckdb import DuckDBEngine
    from zhongtai.meta.records import ColumnInfo, FeatureBuild
    from zhongtai.meta.time import now
    from zhongtai.spec.models import FeatureViewSpec

    sys.path.insert(0, str(HERE / "feast"))
    from data import FEATURES, asof_join_duckdb

    history, labels = folder / "history.parquet", folder / "labels.parquet"
    view = FeatureViewSpec(
        name="stats",
        entity="entity",
        timestamp="event_timestamp",
        ttl="30d",
        sql="SELECT 1",
        features=[{"name": f, "type": "float64"} for f in FEATURES],
    )
    build = FeatureBuild(
        "stats", 1, now(), 0, [str(history)], [ColumnInfo(f, "float64") for f in FEATURES], {}, None
    )
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    started = time.perf_counter()
    joined = point_in_time_join(
        DuckDBEngine(con=con),
        f"SELECT * FROM read_parquet('{labels}')",
        [(view, build, ["entity_id"])],
        timestamp="event_timestamp",
    )
    seconds = time.perf_counter() - started
    reference = asof_join_duckdb(history, labels)
    ours = joined.sort_by("label_id")
    same = all(
        pc.all(pc.fill_null(pc.equal(ours.column(f), reference.column(f)), True)).as_py()
        and ours.column(f).null_count == reference.column(f).null_count
        for f in FEATURES
    )
    return {
        "pit_s": round(seconds, 3),
        "rows": joined.num_rows,
        "rows_asked": reference.num_rows,
        "rows_lost": reference.num_rows - joined.num_rows,
        "identical_values": same,
        "peak_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (1 << 20), 2),
    }


def _asof(folder: Path) -> dict:
    sys.path.insert(0, str(HERE / "feast"))
    from data import asof_join_duckdb

    started = time.perf_counter()
    joined = asof_join_duckdb(folder / "history.parquet", folder / "labels.parquet")
    return {
        "asof_s": round(time.perf_counter() - started, 3),
        "rows": joined.num_rows,
        "peak_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (1 << 20), 2),
    }


def _subprocess(python: Path | str, args: list[str]) -> dict:
    done = subprocess.run([str(python), *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--entities", type=int, default=100_000)
    parser.add_argument("--times", type=int, default=10)
    parser.add_argument("--labels", type=int, default=1_000_000)
    parser.add_argument("--http-seconds", type=int, default=10, help="Length of each HTTP load (wrk).")
    parser.add_argument("--no-feast", action="store_true", help="Skip Feast even if its environment exists.")
    parser.add_argument("--no-stream", action="store_true", help="Skip the streaming figures.")
    parser.add_argument("--check", action="store_true", help=CHECK_HELP)
    parser.add_argument("--engine", choices=["ours", "asof", "serving"], help=argparse.SUPPRESS)
    parser.add_argument("--backend", choices=["sqlite", "redis"], help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.engine:
        print(json.dumps(_engine(args)))
        return

    feast_python = _prerequisites(args)
    sys.path.insert(0, str(HERE / "feast"))
    from data import generate

    folder = HERE / ".data" / f"feature_store-{args.entities}x{args.times}-{args.labels}"
    generate(folder, args.entities, args.times, args.labels)
    ours = _subprocess(sys.executable, [__file__, "--engine", "ours", "--data", str(folder)])
    asof = _subprocess(sys.executable, [__file__, "--engine", "asof", "--data", str(folder)])
    serving = {
        backend: _subprocess(
            sys.executable,
            [
                *(__file__, "--engine", "serving", "--backend", backend, "--data", str(folder)),
                *("--entities", str(args.entities), "--http-seconds", str(args.http_seconds)),
            ],
        )
        for backend in ("sqlite", "redis")
    }
    feast = _feast(args, feast_python) if feast_python else {}
    stream = _stream() if not args.no_stream else {}
    _print_table(ours, asof, serving, feast, stream)
    print(json.dumps(_figures(args, ours, asof, serving, feast, stream)))


def _engine(args: argparse.Namespace) -> dict:
    if args.engine == "ours":
        return _ours(args.data)
    if args.engine == "asof":
        return _asof(args.data)
    from feature_store_serving import run

    return run(args.backend, args.data / "history.parquet", args.entities, args.http_seconds)


def _prerequisites(args: argparse.Namespace) -> Path | None:
    """Check (or install) everything before generating data; Feast's python, or None without Feast."""
    command("wrk")
    service(
        "Redis", REDIS, "start it (`redis-server --daemonize yes`): the bench measures the Redis online store"
    )
    if not args.no_stream and (HERE / "stream.py").exists():
        from stream import check

        check(("sqlite", "redis", "nats"))
    # Feast lives in its own environment, created (or found up to date) here; never in the project's.
    feast_python = None if args.no_feast else peer_environment(HERE / "feast" / "setup.sh")
    check_only(args.check, "feature_store")
    return feast_python


def _feast(args: argparse.Namespace, python: Path) -> dict:
    return _subprocess(
        python,
        [
            str(HERE / "feast" / "run_feast.py"),
            *("--entities", str(args.entities), "--times", str(args.times), "--labels", str(args.labels)),
            *("--serve-seconds", str(args.http_seconds)),
        ],
    )


def _stream() -> dict:
    """bench/stream.py's figures (branch "stream"), or nothing when that module is not there yet."""
    if not (HERE / "stream.py").exists():
        return {}
    from stream import run

    return run()


def _print_table(ours: dict, asof: dict, serving: dict, feast: dict, stream: dict) -> None:
    rows: list[tuple[str, object, object]] = [
        ("PIT 1M labels: zhongtai point_in_time_join (s)", ours["pit_s"], ours["peak_gb"]),
        ("  rows lost", ours["rows_lost"], None),
        ("PIT 1M labels: DuckDB ASOF JOIN by hand (s)", asof["asof_s"], asof["peak_gb"]),
        ("PIT 1M labels: Feast file store (s)", feast.get("feast_file_1m_s"), _gb(feast, "file")),
        ("  rows lost", feast.get("feast_rows_lost"), None),
        ("PIT 1M labels: Feast duckdb store (s)", feast.get("feast_duckdb_1m_s"), _gb(feast, "duckdb")),
    ]
    for backend, name in (("sqlite", "SQLite"), ("redis", "Redis")):
        got = serving[backend]
        rows += [
            (f"materialize 100k entities, {name}: zhongtai (s)", got["materialize_s"], None),
            ("  again, over the previous values (s)", got["materialize_again_s"], None),
            ("  plain batched upsert (s)", got["plain_upsert_s"], None),
            ("  Feast (s)", feast.get(f"feast_materialize_{backend}_s"), None),
        ]
    for backend, name in (("sqlite", "SQLite"), ("redis", "Redis")):
        local, http = serving[backend]["in_process"], serving[backend]["http"]
        rows += [
            (f"online read 1x3x8, {name}, in-process: reads/s", local["rps"], None),
            ("  p50 / p99 (ms)", f"{local['p50_ms']} / {local['p99_ms']}", None),
            (f"online read 1x3x8, {name}, HTTP 8 conns: req/s", http["rps"], None),
            ("  p50 / p99 (ms), errors", f"{http['p50_ms']} / {http['p99_ms']}, {http['errors']}", None),
        ]
    rows += [
        ("Feast SDK in-process (SQLite): reads/s", feast.get("feast_sdk_rps"), None),
        ("  p50 / p99 (ms)", _pair(feast, "feast_sdk_p50_ms", "feast_sdk_p99_ms"), None),
        ("feast serve (SQLite), HTTP 8 conns: req/s", feast.get("feast_serve_rps"), None),
        ("  p50 / p99 (ms)", _pair(feast, "feast_serve_p50_ms", "feast_serve_p99_ms"), None),
        ("stream: events/s", stream.get("stream_events_per_s"), None),
        ("stream: freshness p99 (s)", stream.get("stream_freshness_p99_s"), None),
    ]
    print(f"{'measure':<50}{'value':>22}{'peak GB':>9}")
    for name, value, peak in rows:
        shown = "-" if value is None else (f"{value:,}" if isinstance(value, int) else str(value))
        print(f"{name:<50}{shown:>22}{'' if peak is None else peak:>9}")


def _gb(feast: dict, store: str) -> float | None:
    mib = feast.get(f"feast_{store}_peak_rss_mib")
    return None if mib is None else round(mib / 1024, 2)


def _pair(feast: dict, first: str, second: str) -> str | None:
    if feast.get(first) is None:
        return None
    return f"{feast[first]} / {feast[second]}"


def _figures(
    args: argparse.Namespace, ours: dict, asof: dict, serving: dict, feast: dict, stream: dict
) -> dict:
    sqlite, redis = serving["sqlite"], serving["redis"]
    return {
        "labels": args.labels,
        "history_rows": args.entities * args.times,
        "pit_1m_s": ours["pit_s"],
        "asof_1m_s": asof["asof_s"],
        "feast_file_1m_s": feast.get("feast_file_1m_s"),
        "feast_duckdb_1m_s": feast.get("feast_duckdb_1m_s"),
        "rows_lost": ours["rows_lost"],
        "identical_values": ours["identical_values"],
        "pit_peak_gb": ours["peak_gb"],
        "feast_rows_lost": feast.get("feast_rows_lost"),
        "materialize_entities": sqlite["entities"],
        "materialize_sqlite_s": sqlite["materialize_s"],
        "materialize_sqlite_again_s": sqlite["materialize_again_s"],
        "plain_upsert_s": sqlite["plain_upsert_s"],
        "materialize_redis_s": redis["materialize_s"],
        "materialize_redis_again_s": redis["materialize_again_s"],
        "plain_upsert_redis_s": redis["plain_upsert_s"],
        "feast_materialize_sqlite_s": feast.get("feast_materialize_sqlite_s"),
        "feast_materialize_redis_s": feast.get("feast_materialize_redis_s"),
        "online_inprocess_sqlite_p99_ms": sqlite["in_process"]["p99_ms"],
        "online_inprocess_sqlite_rps": sqlite["in_process"]["rps"],
        "online_inprocess_redis_p99_ms": redis["in_process"]["p99_ms"],
        "online_inprocess_redis_rps": redis["in_process"]["rps"],
        "online_http_rps": sqlite["http"]["rps"],
        "online_http_p99_ms": sqlite["http"]["p99_ms"],
        "online_http_errors": sqlite["http"]["errors"],
        "online_http_redis_rps": redis["http"]["rps"],
        "online_http_redis_p99_ms": redis["http"]["p99_ms"],
        "online_http_redis_errors": redis["http"]["errors"],
        "http_client": sqlite["http"]["client"],
        "feast_sdk_p99_ms": feast.get("feast_sdk_p99_ms"),
        "feast_sdk_rps": feast.get("feast_sdk_rps"),
        "feast_serve_rps": feast.get("feast_serve_rps"),
        "feast_serve_p99_ms": feast.get("feast_serve_p99_ms"),
        "feast_serve_errors": feast.get("feast_serve_errors"),
        "stream_events_per_s": stream.get("stream_events_per_s"),
        "stream_freshness_p99_s": stream.get("stream_freshness_p99_s"),
        **{k: v for k, v in stream.items() if k.startswith("stream_")},
        "feast_errors": feast.get("errors"),
    }


if __name__ == "__main__":
    main()
