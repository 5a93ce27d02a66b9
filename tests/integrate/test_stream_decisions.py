"""Stream mode: requests from a bus stream, decisions to another, at least once and idempotent per request."""

from __future__ import annotations

import pytest

from tests.capabilities.world import KNOWN_IDS, build_world
from tests.connect.streams import bus_url, clean_up
from zhongtai.capabilities.serving import Capabilities
from zhongtai.connect.streams import open_bus
from zhongtai.integrate.stream_decisions import StreamDecider, decision_id

pytestmark = pytest.mark.integration


class AckFailsOnce:
    """A bus whose first ack fails: the consumer 'crashed' after publishing, so the batch comes again."""

    def __init__(self, bus):
        self._bus, self.failed = bus, False

    def __getattr__(self, name):
        return getattr(self._bus, name)

    def ack(self, stream, group, deliveries):
        if not self.failed:
            self.failed = True
            raise ConnectionError("the consumer died before acking")
        self._bus.ack(stream, group, deliveries)


def _drain(bus, stream: str) -> list[dict]:
    found = []
    while batch := bus.consume(stream, "reader", "r1", 500, 0.3):
        found += [d.event for d in batch]
        bus.ack(stream, "reader", batch)
    return found


@pytest.fixture(params=["sqlite", "redis"])
def world_and_bus(request, tmp_path):
    world = build_world(
        tmp_path, f"sqlite:///{tmp_path / 'metadata.db'}", f"sqlite:///{tmp_path / 'online.db'}"
    )
    url = bus_url(request.param, tmp_path)
    bus = open_bus(url)
    try:
        yield world, bus, url
    finally:
        bus.close()
        clean_up(url)
        world.online.close()
        world.store.close()


def test_each_request_is_answered_once_even_when_redelivered(world_and_bus):
    world, bus, url = world_and_bus
    requests = [
        {"request_id": f"r{i}", "inputs": {"customer_id": key}} for i, key in enumerate(KNOWN_IDS[:10])
    ]
    requests.append({"request_id": "r0", "inputs": {"customer_id": KNOWN_IDS[0]}})  # the client sent it twice
    requests.append({"customer_id": KNOWN_IDS[1]})  # no request id
    requests.append({"request_id": "r-flat", "customer_id": KNOWN_IDS[2]})  # inputs beside the id
    bus.publish("requests", requests)
    capabilities = Capabilities.load_all(world.store, world.storage, world.online)
    flaky = AckFailsOnce(bus)
    decider = StreamDecider(
        "churn-risk", capabilities, world.store, flaky, "requests", "decisions", "g", "c1"
    )
    with pytest.raises(ConnectionError):
        decider.step(wait_s=0.5)  # published and logged, then died before the ack
    restarted = open_bus(url)  # the process comes back: the unacked batch is delivered again
    try:
        decider = StreamDecider(
            "churn-risk", capabilities, world.store, restarted, "requests", "decisions", "g", "c1"
        )
        while decider.step(wait_s=0.5):
            pass
    finally:
        restarted.close()
    published = _drain(bus, "decisions")
    answers = [a for a in published if "error" not in a]
    errors = [a for a in published if "error" in a]
    assert errors and all(
        e["error"]["message"].endswith("has no request_id (a string or number)") for e in errors
    )
    by_request: dict[str, set] = {}
    for answer in answers:
        by_request.setdefault(answer["request_id"], set()).add(
            (answer["decision_id"], answer["decision"], answer["score"])
        )
    assert set(by_request) == {f"r{i}" for i in range(10)} | {"r-flat"}
    assert all(len(seen) == 1 for seen in by_request.values())  # every repeat is the same answer
    assert any(a.get("repeated") for a in answers)
    logged = world.store.decisions.recent("churn-risk", limit=100)
    assert sorted(r.id for r in logged) == sorted(decision_id("churn-risk", r) for r in by_request)
    assert decider.stats.answered == 0 and decider.stats.repeated == 12  # all from the log after the restart
