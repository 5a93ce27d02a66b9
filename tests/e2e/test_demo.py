"""`zhongtai demo` as a newcomer runs it: ready, healthy, the printed curl answers with a decision and factors,
and a key created from another process works at once."""

from __future__ import annotations

import os
import shlex
import signal
import socket
import subprocess
import sys

import httpx
import pytest

pytestmark = pytest.mark.e2e


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _request_from_curl(curl: str) -> tuple[str, dict[str, str], str]:
    words = shlex.split(curl)
    url = next(w for w in words if w.startswith("http://"))
    headers = dict(words[i + 1].split(": ", 1) for i, w in enumerate(words) if w == "-H")
    body = words[words.index("-d") + 1]
    return url, headers, body


def test_demo_serves_the_printed_curl(tmp_path):
    port = _free_port()
    env = {**os.environ, "ZT_HOME": str(tmp_path / "home")}
    for var in ("ZT_METADATA_URL", "ZT_LAKE_URL", "ZT_ONLINE_URL", "ZT_BUS_URL"):
        env.pop(var, None)
    demo = subprocess.Popen(
        [sys.executable, "-m", "zhongtai", "demo", "--customers", "800", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        curl = demo.stdout.readline().strip()  # printed once the gateway is up
        assert curl.startswith("curl "), curl
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
        url, headers, body = _request_from_curl(curl)
        answer = httpx.post(url, headers=headers, content=body)
        assert answer.status_code == 200, answer.text
        decision = answer.json()
        assert decision["decision"] in ("retain_offer", "watch", "none")
        assert decision["factors"] and decision["model"]["name"] == "churn"

        created = subprocess.run(
            [sys.executable, "-m", "zhongtai", "keys", "create", "--name", "crm"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        key = created.stdout.strip().splitlines()[-1]
        again = httpx.post(url, headers={"X-API-Key": key}, content=body)
        assert again.status_code == 200 and again.json()["decision"] == decision["decision"]
        assert httpx.post(url, headers={"X-API-Key": key + "x"}, content=body).status_code == 401
    finally:
        demo.send_signal(signal.SIGINT)
        try:
            demo.wait(30)
        except subprocess.TimeoutExpired:
            demo.kill()
            demo.wait(10)
    assert demo.returncode in (0, -signal.SIGINT, 130)
