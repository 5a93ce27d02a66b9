"""Benchmark the decide API over HTTP, and the in-process runtime beside it.

    python bench/decide.py [--customers 5000] [--requests 5000] [--concurrency 8]
    python bench/decide.py --url http://127.0.0.1:8700 --key zt_... --capability churn-risk \
        --ids-from ids.txt --requests 5000 --concurrency 8 [--zt-home ~/.zhongtai]

Without --key the bench sets itself up: the demo (`zhongtai demo`'s preparation: the retail scenario of
--customers customers, ingested, features built, the churn model trained and promoted, an API key) in a
throwaway ZT_HOME, then `zhongtai serve` on a free port of 127.0.0.1 in a process of its own, and the
demo's customers as the ids; the in-process runtime is timed on the same stores. With --key it loads a
RUNNING gateway at --url, which it checks answers before starting (bench/prerequisites.py); `--check` stops
after the checks.

C threads each hold one keep-alive httpx client; every request's latency is measured on the client side.
With --zt-home the same capability is also loaded in this process and `runtime.decide()` is timed, so the
HTTP and framework overhead can be read off the difference. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
from prerequisites import CHECK_HELP, check_only, service


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


@contextmanager
def _own_gateway(customers: int) -> Iterator[tuple[str, str, list[str], str]]:
    """The demo prepared in a throwaway ZT_HOME and served by `zhongtai serve` in its own process:
    (url, API key, customer ids, ZT_HOME). Everything is removed afterwards."""
    from zhongtai.config import Settings
    from zhongtai.lake.reader import read_table
    from zhongtai.lake.storage import LakeStorage
    from zhongtai.meta.store import MetadataStore
    from zhongtai.scenarios.retail.demo import prepare

    with tempfile.TemporaryDirectory(prefix="zt-bench-decide-") as home:
        # Only ZT_HOME: a ZT_METADATA_URL or ZT_ONLINE_URL of the caller must not receive the bench's demo.
        env = {k: v for k, v in os.environ.items() if not k.startswith("ZT_")} | {"ZT_HOME": home}
        settings = Settings.from_env(env)
        started = time.perf_counter()
        report = prepare(settings, customers, 7, lambda stage, detail: print(f"  {stage:<11} {detail}"))
        print(f"demo of {customers:,} customers ready in {time.perf_counter() - started:.0f} s", flush=True)
        store = MetadataStore(settings.metadata_url)
        ids = [
            str(i) for i in read_table(store, LakeStorage(settings.lake_url), "crm_customers")["customer_id"]
        ]
        store.close()
        port = _free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "zhongtai", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_healthy(url, server)
            yield url, report.api_key, ids, home
        finally:
            server.terminate()
            server.wait(timeout=30)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_healthy(url: str, server: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"`zhongtai serve` exited with status {server.returncode} before answering")
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"`zhongtai serve` did not answer {url}/healthz within {seconds:.0f} s")


def _measure(args: argparse.Namespace, ids: list[str]) -> None:
    """Warm up, time HTTP (and in-process with a ZT_HOME), print the table and the JSON line."""
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


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", default="http://127.0.0.1:8700")
    parser.add_argument(
        "--key", help="an API key of the gateway at --url; without it the bench serves the demo"
    )
    parser.add_argument(
        "--customers", type=int, default=5000, help="size of the demo when the bench serves it"
    )
    parser.add_argument("--capability", default="churn-risk")
    parser.add_argument("--input", default="customer_id", help="the capability's input field")
    parser.add_argument("--ids", help="comma-separated entity ids")
    parser.add_argument("--ids-from", help="a file with one entity id per line")
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--zt-home", help="also time runtime.decide() in-process on this ZT_HOME's stores")
    parser.add_argument("--check", action="store_true", help=CHECK_HELP)
    args = parser.parse_args()
    if args.key is None:
        check_only(args.check, "decide")
        with _own_gateway(args.customers) as (url, key, ids, home):
            args.url, args.key, args.zt_home = url, key, home
            _measure(args, ids)
        return
    ids = _ids(args)
    service(
        "The gateway",
        args.url,
        "start one (`zhongtai demo`, or `zhongtai serve` on a prepared ZT_HOME), or leave out --key and the "
        "bench serves the demo itself",
    )
    check_only(args.check, "decide")
    _measure(args, ids)


if __name__ == "__main__":
    main()
