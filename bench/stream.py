"""Streaming: sustained events/s through `zhongtai stream run`'s consumer and the freshness of what it writes.

    python bench/stream.py [--backends sqlite,redis,nats] [--events 20000] [--paced-seconds 10] [--check]

Per bus (the embedded SQLite log, Redis Streams and NATS JetStream on 127.0.0.1), one fresh project with a
window feature view (count of views 1h, distinct products 1d, spend 7d over 10,000 customers), an embedded
online store and lake, and the real consumer (`StreamConsumer`, default flush policy) in a thread:

1. saturate: publish `--events` events as fast as the bus takes them; events/s = events / (first publish ->
   last event's features written online). The consumer's capacity.
2. paced: publish at half that rate for `--paced-seconds`; freshness = bus time of each event -> its features
   written online (what the `zt_feature_freshness_seconds` metric records). Target p99 < 1 s.

The table comes first; the last line is one JSON object. `run(...)` returns the same figures as a dict, for
bench/feature_store.py. Publisher and consumer share one process (and its GIL): a consumer of its own does
at least as well.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from prerequisites import CHECK_HELP, check_only  # noqa: E402  (bench/ is the script's folder)

SPECS = """\
sources:
  - {name: tracking, type: files, url: "EVENTS_DIR"}
datasets:
  - name: clicks
    source: tracking
    path: "backfill.jsonl"
    format: jsonl
    stream: {name: STREAM}
entities:
  - {name: customer, join_keys: [customer_id]}
feature_views:
  - name: browsing
    entity: customer
    ttl: 30d
    windows:
      dataset: clicks
      keys: {customer_id: user_id}
      aggregations:
        - {name: views_1h, function: count, window: 1h, where: {event_type: view}}
        - {name: products_1d, function: distinct, column: product_id, window: 1d}
        - {name: spend_7d, function: sum, column: price, window: 7d}
"""
CUSTOMERS = 10_000
PUBLISH_BATCH = 200
BUS_URLS = {
    "sqlite": "sqlite:///{folder}/bus.db",
    "redis": "redis://127.0.0.1:6379/0?prefix={tag}",
    "nats": "nats://127.0.0.1:4222?prefix={tag}",
}


def _events(rng: random.Random, start: int, count: int) -> list[dict]:
    now = datetime.now(UTC).isoformat()
    return [
        {
            "event_id": f"E{start + i:09d}",
            "ts": now,
            "user_id": rng.randrange(CUSTOMERS),
            "event_type": rng.choice(("view", "view", "view", "click", "cart")),
            "product_id": rng.randrange(2000),
            "price": rng.choice((None, 9.9, 59.0, 199.0)),
        }
        for i in range(count)
    ]


class _Probe:
    """Collects what the consumer reports per batch."""

    def __init__(self) -> None:
        self.consumed = 0
        self.freshness: list[float] = []
        self.last_written = 0.0
        self.lock = threading.Lock()

    def __call__(self, report) -> None:
        with self.lock:
            self.consumed += report.events
            self.freshness.extend(report.freshness_s)
            self.last_written = time.time()

    def wait_for(self, count: int, timeout_s: float = 300) -> None:
        deadline = time.monotonic() + timeout_s
        while self.consumed < count:
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"the consumer took {self.consumed} of {count} events in {timeout_s:.0f} s"
                )
            time.sleep(0.01)


def _bench_backend(backend: str, events: int, paced_seconds: float) -> dict:
    from zhongtai.connect.streams import open_bus
    from zhongtai.features.online import open_online_store
    from zhongtai.features.streaming import StreamConsumer, stream_feeds
    from zhongtai.lake.storage import LakeStorage
    from zhongtai.meta.store import MetadataStore
    from zhongtai.spec.plan import apply_plan, build_plan
    from zhongtai.spec.project import load_project

    tag = f"ztbench{int(time.time() * 1000)}"
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "project").mkdir()
        specs = SPECS.replace("EVENTS_DIR", str(folder)).replace("STREAM", tag)
        (folder / "project" / "specs.yaml").write_text(specs)
        store = MetadataStore(f"sqlite:///{folder / 'meta.db'}")
        apply_plan(build_plan(load_project(folder / "project"), store), store)
        url = BUS_URLS[backend].format(folder=folder, tag=tag)
        bus, publisher = open_bus(url), open_bus(url)
        online = open_online_store(f"sqlite:///{folder / 'online.db'}")
        probe, stop = _Probe(), threading.Event()
        consumer = StreamConsumer(
            store, LakeStorage(str(folder / "lake")), online, bus, stream_feeds(store), on_batch=probe
        )
        thread = threading.Thread(target=consumer.run, args=(stop,), daemon=True)
        thread.start()
        rng = random.Random(7)
        try:
            rate = _saturate(publisher, tag, rng, events, probe)
            probe.freshness.clear()
            paced = _paced(publisher, tag, rng, events, rate / 2, paced_seconds, probe)
        finally:
            stop.set()
            thread.join(60)
            publisher.close()
            bus.close()
            online.close()
            versions = len(store.versions("clicks"))
            store.close()
            _clean(url, tag)
    fresh = sorted(probe.freshness)
    return {
        "backend": backend,
        "events_per_s": round(rate),
        "paced_events_per_s": round(paced),
        "freshness_p50_s": round(fresh[len(fresh) // 2], 4),
        "freshness_p99_s": round(fresh[int(len(fresh) * 0.99)], 4),
        "freshness_max_s": round(fresh[-1], 4),
        "lake_versions": versions,
    }


def _saturate(publisher, stream: str, rng: random.Random, events: int, probe: _Probe) -> float:
    batches = [_events(rng, start, PUBLISH_BATCH) for start in range(0, events, PUBLISH_BATCH)]
    started = time.time()
    for batch in batches:
        publisher.publish(stream, batch)
    probe.wait_for(events)
    return events / (probe.last_written - started)


def _paced(
    publisher, stream: str, rng: random.Random, offset: int, rate: float, seconds: float, probe
) -> float:
    """Publish `rate` events/s in small batches every 20 ms; returns the rate achieved."""
    per_tick = max(1, round(rate * 0.02))
    before = probe.consumed
    started = time.monotonic()
    sent = 0
    while time.monotonic() - started < seconds:
        publisher.publish(stream, _events(rng, offset + sent, per_tick))
        sent += per_tick
        ahead = sent / rate - (time.monotonic() - started)
        if ahead > 0:
            time.sleep(ahead)
    elapsed = time.monotonic() - started
    probe.wait_for(before + sent)
    return sent / elapsed


def _clean(url: str, tag: str) -> None:
    if url.startswith("redis://"):
        import redis

        client = redis.Redis.from_url("redis://127.0.0.1:6379/0")
        keys = list(client.scan_iter(match=f"{tag}:*"))
        if keys:
            client.delete(*keys)
        client.close()
    elif url.startswith("nats://"):
        import asyncio

        import nats

        async def drop() -> None:
            nc = await nats.connect("nats://127.0.0.1:4222")
            js = nc.jetstream()
            for info in await js.streams_info():
                if info.config.name.startswith(tag.upper()):
                    await js.delete_stream(info.config.name)
            await nc.close()

        asyncio.run(drop())


def check(backends: tuple[str, ...]) -> None:
    """Stop before the long part unless every bus asked for answers on 127.0.0.1 (bench/prerequisites.py)."""
    from prerequisites import service

    unknown = [b for b in backends if b not in BUS_URLS]
    if unknown:
        raise SystemExit(f"unknown bus {', '.join(unknown)}: --backends takes {', '.join(BUS_URLS)}")
    if "redis" in backends:
        service(
            "Redis",
            BUS_URLS["redis"],
            "start it (`redis-server --daemonize yes`) or leave redis out of --backends",
        )
    if "nats" in backends:
        service(
            "NATS",
            BUS_URLS["nats"],
            "start it with JetStream (`nats-server -js -a 127.0.0.1 &`) or leave nats out of --backends",
        )


def run(
    backends: tuple[str, ...] = ("sqlite", "redis", "nats"), events: int = 20_000, paced_seconds: float = 10
) -> dict:
    """Bench every bus; the headline figures are the embedded bus's (the default), each bus's are kept too."""
    rows = [_bench_backend(b, events, paced_seconds) for b in backends]
    first = rows[0]
    figures: dict = {
        "stream_events_per_s": first["events_per_s"],
        "stream_freshness_p99_s": first["freshness_p99_s"],
        "stream_backend": first["backend"],
    }
    for row in rows:
        name = row["backend"]
        figures[f"stream_{name}_events_per_s"] = row["events_per_s"]
        figures[f"stream_{name}_paced_events_per_s"] = row["paced_events_per_s"]
        figures[f"stream_{name}_freshness_p50_s"] = row["freshness_p50_s"]
        figures[f"stream_{name}_freshness_p99_s"] = row["freshness_p99_s"]
        figures[f"stream_{name}_lake_versions"] = row["lake_versions"]
    figures["rows"] = rows
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backends", default="sqlite,redis,nats")
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--paced-seconds", type=float, default=10.0)
    parser.add_argument("--check", action="store_true", help=CHECK_HELP)
    args = parser.parse_args()
    backends = tuple(args.backends.split(","))
    check(backends)
    check_only(args.check, "stream")
    figures = run(backends, args.events, args.paced_seconds)
    rows = figures.pop("rows")
    header = f"{'bus':<8}{'events/s':>10}{'paced ev/s':>12}{'fresh p50':>11}{'fresh p99':>11}{'max':>8}{'versions':>10}"
    print(header)
    for r in rows:
        print(
            f"{r['backend']:<8}{r['events_per_s']:>10,}{r['paced_events_per_s']:>12,}{r['freshness_p50_s']:>10.3f}s"
            f"{r['freshness_p99_s']:>10.3f}s{r['freshness_max_s']:>7.2f}s{r['lake_versions']:>10}"
        )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
