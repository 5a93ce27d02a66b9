"""`zhongtai demo` as a newcomer runs it: ready, healthy, the printed curl answers with a decision and factors,
a key created from another process with the app role works at once, one of the default role gets 403."""

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

        def create_key(*args: str) -> str:
            created = subprocess.run(
                [sys.executable, "-m", "zhongtai", "keys", "create", *args],
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
                check=True,
            )
            return created.stdout.strip().splitlines()[-1]

        # The retail policy lets its apps call; a key of the default role has no grant (default deny).
        key = create_key("--name", "crm", "--role", "app")
        again = httpx.post(url, headers={"X-API-Key": key}, content=body)
        assert again.status_code == 200 and again.json()["decision"] == decision["decision"]
        assert httpx.post(url, headers={"X-API-Key": key + "x"}, content=body).status_code == 401
        nogrant = httpx.post(url, headers={"X-API-Key": create_key("--name", "nogrant")}, content=body)
        assert nogrant.status_code == 403 and "no rule grants it" in nogrant.json()["message"]
    finally:
        demo.send_signal(signal.SIGINT)
        try:
            demo.wait(30)
        except subprocess.TimeoutExpired:
            demo.kill()
            demo.wait(10)
    assert demo.returncode in (0, -signal.SIGINT, 130)
