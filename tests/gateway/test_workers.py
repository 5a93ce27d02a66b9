"""`zhongtai serve --workers 2`: two processes on one port, sharing only the stores."""

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

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_two_workers_answer_on_one_port_and_log_every_decision(tmp_path):
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
        workers = subprocess.run(
            ["pgrep", "-P", str(server.pid)], capture_output=True, text=True
        ).stdout.split()
        assert len(workers) >= 2  # the workers (uvicorn may add a resource tracker beside them)
        headers = {"Authorization": f"Bearer {key}"}
        with httpx.Client(headers=headers) as client:
            answers = [
                client.post(
                    f"{url}/v1/capabilities/churn-risk/decide", json={"customer_id": KNOWN_IDS[i % 39]}
                )
                for i in range(60)
            ]
        assert {a.status_code for a in answers} == {200}
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(60)
    assert world.store.decisions.count("churn-risk") == 60  # both workers flushed their logs on shutdown
    world.store.close()
