"""Benchmark the decide API of a RUNNING gateway, and optionally the in-process runtime beside it.

    python bench/decide.py --url http://127.0.0.1:8700 --key zt_... --capability churn-risk \
        --ids-from ids.txt --requests 5000 --concurrency 8 [--zt-home ~/.zhongtai]

C threads each hold one keep-alive httpx client; every request's latency is measured on the client side.
With --zt-home the same capability is also loaded in this process and `runtime.decide()` is timed, so the
HTTP and framework overhead can be read off the difference. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx


def _percentile(sorted_ms: list[float], q: float) -> float:
    if not sorted_ms:
        return float("nan")
    index = min(len(sorted_ms) - 1, max(0, round(q / 100 * len(sorted_ms)) - 1))
    return sorted_ms[index]


def _summary(latencies_ms: list[float], seconds: float) -> dict[str, float]:
    ordered = sorted(latencies_ms)
    return {
        "p50_ms": round(_percentile(ordered, 50), 3),
        "p90_ms": round(_percentile(ordered, 90), 3),
        "p99_ms": round(_percentile(ordered, 99), 3),
        "mean_ms": round(statistics.fmean(ordered), 3) if ordered else float("nan"),
        "rps": round(len(ordered) / seconds, 1) if seconds > 0 else 0.0,
    }


def _ids(args: argparse.Namespace) -> list[str]:
    if args.ids_from:
        found = [line.strip() for line in Path(args.ids_from).read_text().splitlines() if line.strip()]
    else:
        found = [part.strip() for part in (args.ids or "").split(",") if part.strip()]
    if not found:
        raise SystemExit("give entity ids with --ids a,b,c or --ids-from FILE")
    return found


def _http_run(args: argparse.Namespace, ids: list[str], requests: int) -> tuple[list[float], int, float]:
    """Send `requests` decides from `concurrency` threads; returns latencies (ms), errors, wall seconds."""
    path = f"/v1/capabilities/{args.capability}/decide"
    headers = {"Authorization": f"Bearer {args.key}"}
    counter = iter(range(requests))
    lock = threading.Lock()
    latencies: list[float] = []
    errors = 0

    def worker() -> None:
        nonlocal errors
        mine: list[float] = []
        failed = 0
        with httpx.Client(base_url=args.url, headers=headers, timeout=10) as client:
            while True:
                with lock:
                    n = next(counter, None)
                if n is None:
                    break
                started = time.perf_counter()
                response = client.post(path, json={args.input: ids[n % len(ids)]})
                mine.append((time.perf_counter() - started) * 1000)
                failed += response.status_code != 200
        with lock:
            latencies.extend(mine)
            errors += failed

    started = time.perf_counter()
    with ThreadPoolExecutor(args.concurrency) as pool:
        for future in [pool.submit(worker) for _ in range(args.concurrency)]:
            future.result()
    return latencies, errors, time.perf_counter() - started


def _inprocess(args: argparse.Namespace, ids: list[str]) -> dict[str, float]:
    """Time `CapabilityRuntime.decide()` in this process, one thread, against the same stores."""
    from zhongtai.capabilities.runtime import CapabilityRuntime
    from zhongtai.config import Settings
    from zhongtai.features.online.base import open_online_store
    from zhongtai.lake.storage import LakeStorage
    from zhongtai.meta.store import MetadataStore

    settings = Settings.from_env({**os.environ, "ZT_HOME": str(Path(args.zt_home).expanduser())})
    store = MetadataStore(settings.metadata_url)
    online = open_online_store(settings.online_url)
    runtime = CapabilityRuntime.build(args.capability, store, LakeStorage(settings.lake_url), online)
    decide: Callable[[dict[str, str]], object] = runtime.decide
    bodies = [{runtime.input: key} for key in ids]
    for n in range(min(args.warmup, 500)):
        decide(bodies[n % len(bodies)])
    latencies = []
    started = time.perf_counter()
    for n in range(args.requests):
        t0 = time.perf_counter()
        decide(bodies[n % len(bodies)])
        latencies.append((time.perf_counter() - t0) * 1000)
    seconds = time.perf_counter() - started
    online.close()
    store.close()
    return _summary(latencies, seconds)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", default="http://127.0.0.1:8700")
    parser.add_argument("--key", required=True, help="an API key (zhongtai keys create)")
    parser.add_argument("--capability", default="churn-risk")
    parser.add_argument("--input", default="customer_id", help="the capability's input field")
    parser.add_argument("--ids", help="comma-separated entity ids")
    parser.add_argument("--ids-from", help="a file with one entity id per line")
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--zt-home", help="also time runtime.decide() in-process on this ZT_HOME's stores")
    args = parser.parse_args()
    ids = _ids(args)

    _http_run(args, ids, args.warmup)
    latencies, errors, seconds = _http_run(args, ids, args.requests)
    http = _summary(latencies, seconds)
    inprocess = _inprocess(args, ids) if args.zt_home else None

    print(f"{args.requests} requests, concurrency {args.concurrency}, {errors} errors, {seconds:.2f} s")
    print(f"{'':14}{'HTTP':>12}{'in-process':>14}")
    for name in ("p50_ms", "p90_ms", "p99_ms", "mean_ms", "rps"):
        other = f"{inprocess[name]:>14}" if inprocess else f"{'-':>14}"
        print(f"{name:14}{http[name]:>12}{other}")
    result = {**http, "requests": args.requests, "concurrency": args.concurrency, "errors": errors}
    if inprocess:
        result.update({f"inprocess_{k}": v for k, v in inprocess.items()})
    print(json.dumps(result))


if __name__ == "__main__":
    main()
