from __future__ import annotations

import dataclasses
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.capabilities.world import World, build_world, online_url
from zhongtai.config import Settings


@dataclass
class RunningGateway:
    url: str
    key: str
    world: World
    server: object
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True  # type: ignore[attr-defined]
        self.thread.join(30)


def free_port() -> int:
    """A port nothing listens on now, on 127.0.0.1."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_gateway(settings: Settings, world: World, key: str) -> RunningGateway:
    """A real uvicorn server in a background thread; returns once /healthz answers 200."""
    import uvicorn

    from zhongtai.gateway.app import create_app

    port = free_port()
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or not thread.is_alive():
            server.should_exit = True
            raise RuntimeError("the gateway did not become healthy")
        time.sleep(0.05)
    return RunningGateway(url, key, world, server, thread)


@contextmanager
def served_world(
    tmp_path: Path,
    online: str,
    *,
    key: tuple[str, list[str]] = ("crm", ["caller"]),
    prepare: Callable[[World], None] | None = None,
    **settings: Any,
) -> Iterator[RunningGateway]:
    """The churn world (metadata in SQLite) served by a real gateway with a key of the given name and roles;
    `prepare` runs before the gateway starts, `settings` replace fields of the world's settings."""
    world = build_world(tmp_path, f"sqlite:///{tmp_path / 'metadata.db'}", online)
    if prepare is not None:
        prepare(world)
    secret = world.store.access.create_key(*key)
    running = start_gateway(dataclasses.replace(world.settings, **settings), world, secret)
    try:
        yield running
    finally:
        running.stop()
        world.online.close()
        world.store.close()


@pytest.fixture(scope="module", params=["sqlite", "redis"])
def gateway(request, tmp_path_factory) -> Iterator[RunningGateway]:
    """The churn world served by a real gateway, once per online store backend."""
    tmp_path = tmp_path_factory.mktemp(f"gateway_{request.param}")
    with online_url(request.param, tmp_path) as url, served_world(tmp_path, url) as running:
        yield running


@pytest.fixture
def client(gateway) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=gateway.url, headers={"Authorization": f"Bearer {gateway.key}"}) as opened:
        yield opened


@contextmanager
def workers_serving(world: World, workers: int = 2) -> Iterator[tuple[str, int]]:
    """`zhongtai serve --workers N` in a process group of its own on the world's stores, configured only by
    ZT_* variables as an operator would; yields its URL and the manager's pid once healthy, and stops it with SIGTERM (each worker
    flushes its decision log) on the way out."""
    import os
    import signal
    import subprocess
    import sys

    s = world.settings
    env = {
        **os.environ,
        "ZT_HOME": str(s.home),
        "ZT_METADATA_URL": s.metadata_url,
        "ZT_LAKE_URL": s.lake_url,
        "ZT_ONLINE_URL": s.online_url,
        "ZT_BUS_URL": s.bus_url,
    }
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "zhongtai", "serve", "--port", str(port), "--workers", str(workers)],
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
            if server.poll() is not None or time.monotonic() > deadline:
                stderr = server.stderr.read().decode()[-2000:] if server.stderr else ""
                raise RuntimeError(f"the workers did not become healthy: {stderr}")
            time.sleep(0.2)
        yield url, server.pid
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(60)
