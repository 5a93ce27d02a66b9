"""The online store down or stalled under load: flagged fallbacks, never a 5xx, never a hang; back when it is."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from collections import Counter

import httpx
import pytest

from tests.capabilities.world import KNOWN_IDS, write_features
from tests.gateway.conftest import free_port, served_world

pytestmark = pytest.mark.integration


def _redis(port: int) -> subprocess.Popen:
    """A Redis of the test's own (the shared one on 6379 must not be stopped)."""
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return server
        except OSError:
            time.sleep(0.05)
    server.kill()
    raise RuntimeError("redis-server did not start")


def test_redis_stopped_and_stalled_under_load_gives_flagged_fallbacks_and_recovers(tmp_path):
    port = free_port()
    server = _redis(port)
    url = f"redis://127.0.0.1:{port}/0?prefix=outage&socket_timeout=0.3"
    try:
        with served_world(tmp_path, url) as gateway:
            decide = f"{gateway.url}/v1/capabilities/churn-risk/decide"
            headers = {"Authorization": f"Bearer {gateway.key}"}
            statuses: Counter = Counter()
            reasons: Counter = Counter()
            slowest = [0.0]
            stop = threading.Event()

            def load(worker: int) -> None:
                with httpx.Client(timeout=10) as client:
                    i = worker
                    while not stop.is_set():
                        started = time.monotonic()
                        response = client.post(
                            decide, json={"customer_id": KNOWN_IDS[i % 39]}, headers=headers
                        )
                        slowest[0] = max(slowest[0], time.monotonic() - started)
                        statuses[response.status_code] += 1
                        if response.status_code == 200 and response.json()["fallback"]:
                            reasons[response.json().get("fallback_reason")] += 1
                        i += 4

            workers = [threading.Thread(target=load, args=(w,)) for w in range(4)]
            for w in workers:
                w.start()
            time.sleep(0.5)
            subprocess.run(["redis-cli", "-p", str(port), "CLIENT", "PAUSE", "1500", "ALL"], check=True)
            time.sleep(2.0)  # stalled: reads time out after 0.3 s
            server.terminate()
            server.wait(10)
            time.sleep(1.0)  # down: refused at once
            server = _redis(port)
            refilled = _reopen(url)  # a Redis without persistence comes back empty: materialize again
            write_features(refilled, gateway.world.rows)
            refilled.close()
            back = time.monotonic()
            recovered = None
            while time.monotonic() - back < 5:
                answer = httpx.post(decide, json={"customer_id": KNOWN_IDS[0]}, headers=headers).json()
                if not answer["fallback"]:
                    recovered = time.monotonic() - back
                    break
                time.sleep(0.1)
            stop.set()
            for w in workers:
                w.join(30)
            assert set(statuses) == {200}, statuses  # no 5xx, no refusals
            assert reasons["online_unavailable"] > 0, reasons
            assert slowest[0] < 3.0  # bounded by the socket timeout, never a hang
            assert recovered is not None, "no answer from the model within 5 s of Redis' return"
    finally:
        server.kill()


def _reopen(url: str):
    from zhongtai.features.online import open_online_store

    return open_online_store(url)
