"""`zhongtai serve --workers 2`: retries with one Idempotency-Key, over fresh connections that either worker
may accept, all get the first answer, and the decision log holds it once."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest

from tests.capabilities.world import KNOWN_IDS, build_world
from zhongtai.client import Client

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_retries_across_workers_are_answered_and_logged_once(tmp_path):
    world = build_world(
        tmp_path, f"sqlite:///{tmp_path / 'metadata.db'}", f"sqlite:///{tmp_path / 'online.db'}"
    )
    key = world.store.access.create_key("crm", ["caller"])
    world.online.close()
    s = world.settings
    env = {
        **os.environ,
        "ZT_HOME": str(s.home),
        "ZT_METADATA_URL": s.metadata_url,
        "ZT_LAKE_URL": s.lake_url,
        "ZT_ONLINE_URL": s.online_url,
        "ZT_BUS_URL": s.bus_url,
    }
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "zhongtai", "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, server.stderr.read().decode()[
                -2000:
            ]
            time.sleep(0.2)
        answers = []
        for _ in range(20):  # a new client, so a new connection, each time: either worker may take it
            with Client(url, key) as zt:
                answers.append(
                    zt.decide("churn-risk", customer_id=KNOWN_IDS[2], idempotency_key="order-4711")
                )
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(60)
    assert len({a.decision_id for a in answers}) == 1
    assert [a.replayed for a in answers] == [False] + [True] * 19
    logged = world.store.decisions.recent("churn-risk", limit=100)
    assert [r.id for r in logged] == [answers[0].decision_id]
    world.store.close()
