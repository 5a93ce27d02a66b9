"""A running gateway follows the registry: an alias moved by another process is served within seconds,
under load, with every request answered."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.capabilities.world import KNOWN_IDS, World, register_model, train_booster
from tests.gateway.conftest import RunningGateway, served_world

pytestmark = pytest.mark.integration

# A generous bound on how long to wait before calling it a failure; the figure itself is printed.
GIVE_UP_AFTER_S = 60


@pytest.fixture
def running(tmp_path) -> Iterator[RunningGateway]:
    def with_a_second_version(world: World) -> None:  # v2, under an alias that does not serve
        register_model(world.store, world.storage, train_booster(seed=8), alias="candidate")

    online = f"sqlite:///{tmp_path / 'online.db'}"
    with served_world(tmp_path, online, prepare=with_a_second_version, serving_poll_seconds=0.2) as gateway:
        yield gateway


class Load:
    """Threads that call decide back to back and keep every answer: status, served version, latency."""

    def __init__(self, gateway: RunningGateway, threads: int = 3) -> None:
        self.answers: list[tuple[float, int, int | None, bool, float]] = []
        self._gateway = gateway
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(threads)]

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(30)

    def _run(self, seed: int) -> None:
        headers = {"Authorization": f"Bearer {self._gateway.key}"}
        with httpx.Client(base_url=self._gateway.url, headers=headers, timeout=30) as client:
            i = seed
            while not self._stop.is_set():
                started = time.perf_counter()
                response = client.post(
                    "/v1/capabilities/churn-risk/decide", json={"customer_id": KNOWN_IDS[i % len(KNOWN_IDS)]}
                )
                took = time.perf_counter() - started
                body = response.json() if response.status_code == 200 else {}
                version = body.get("model", {}).get("version")
                with self._lock:
                    self.answers.append(
                        (time.time(), response.status_code, version, body.get("fallback", True), took)
                    )
                i += 1

    def wait_for(self, version: int, since: float) -> float:
        """Seconds from `since` until a request started after it is answered by `version`."""
        deadline = since + GIVE_UP_AFTER_S
        while time.time() < deadline:
            with self._lock:
                hits = [at for at, _, v, _, took in self.answers if v == version and at - took > since]
            if hits:
                return min(hits) - since
            time.sleep(0.02)
        raise AssertionError(f"the gateway still did not serve v{version} {GIVE_UP_AFTER_S} s after the move")


def _move_alias_in_another_process(world: World, version: int) -> float:
    """`champion` moved by a separate Python process on the same metadata store; returns the (wall clock)
    moment its transaction committed, as that process saw it."""
    code = (
        "import sys, time; from zhongtai.meta.store import MetadataStore; "
        "s = MetadataStore(sys.argv[1]); s.models.set_alias('churn', int(sys.argv[2]), 'champion'); "
        "print(time.time()); s.close()"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, world.settings.metadata_url, str(version)],
        check=True,
        timeout=60,
        capture_output=True,
        text=True,
    )
    return float(done.stdout.strip().splitlines()[-1])


def test_an_alias_moved_elsewhere_is_served_under_load_without_a_failed_request(running):
    with Load(running) as load:
        time.sleep(0.5)
        promoted = load.wait_for(2, _move_alias_in_another_process(running.world, 2))
        listing = httpx.get(f"{running.url}/v1/capabilities", headers={"X-API-Key": running.key}).json()
        rolled_back = load.wait_for(1, _move_alias_in_another_process(running.world, 1))
        time.sleep(0.3)
    statuses = {status for _, status, _, _, _ in load.answers}
    slowest = max(took for *_, took in load.answers)
    print(
        f"\n{len(load.answers)} decisions under load; v2 served {promoted:.2f} s after the move, "
        f"v1 again {rolled_back:.2f} s after the rollback; slowest answer {slowest * 1000:.1f} ms"
    )
    assert statuses == {200}
    assert not any(fallback for *_, fallback, _ in load.answers)
    assert {version for _, _, version, _, _ in load.answers} == {1, 2}
    served = {c["name"]: c["model"]["version"] for c in listing["capabilities"]}
    assert served["churn-risk"] == 2
