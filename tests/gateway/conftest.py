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


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_gateway(settings: Settings, world: World, key: str) -> RunningGateway:
    """A real uvicorn server in a background thread; returns once /healthz answers 200."""
    import uvicorn

    from zhongtai.gateway.app import create_app

    port = _free_port()
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
