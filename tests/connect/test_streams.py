"""One suite for the bus protocol, run against the embedded bus, Redis Streams and NATS JetStream (real servers).
Kafka has no broker on this machine: what is tested of it is the protocol, the URL and the failure when no
broker answers."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.connect.streams import BACKENDS, bus_url, clean_up
from zhongtai.connect.streams import EventBus, open_bus
from zhongtai.errors import ZhongtaiError

PARAMS = [
    pytest.param(b, marks=pytest.mark.unit if b == "sqlite" else pytest.mark.integration) for b in BACKENDS
]


@pytest.fixture(params=PARAMS)
def bus_at(request, tmp_path) -> Iterator[str]:
    url = bus_url(request.param, tmp_path)
    yield url
    clean_up(url)


def _drain(bus: EventBus, stream: str, group: str, consumer: str = "c1", wait_s: float = 0.5) -> list:
    got = []
    while batch := bus.consume(stream, group, consumer, 100, wait_s):
        got += batch
    return got


def test_every_backend_keeps_the_protocol(bus_at):
    bus = open_bus(bus_at)
    try:
        assert isinstance(bus, EventBus)
    finally:
        bus.close()


def test_events_arrive_in_order_with_the_time_the_bus_took_them(bus_at):
    bus = open_bus(bus_at)
    try:
        before = time.time()
        bus.publish("clicks", [{"event_id": f"E{i}", "n": i} for i in range(250)])
        got = _drain(bus, "clicks", "g")
        assert [d.event["n"] for d in got] == list(range(250))
        assert all(before - 1 <= d.published_at <= time.time() + 1 for d in got)
        bus.ack("clicks", "g", got)
        assert bus.consume("clicks", "g", "c1", 10, 0.2) == []
    finally:
        bus.close()


def test_unacked_events_come_back_to_a_restarted_consumer_and_acked_ones_do_not(bus_at):
    url = bus_at.replace("ack_wait=60", "ack_wait=1")  # NATS redelivers what was not acked after ack_wait
    bus = open_bus(url)
    bus.publish("clicks", [{"event_id": f"E{i}"} for i in range(30)])
    first = _drain(bus, "clicks", "g")
    bus.ack("clicks", "g", first[:10])
    bus.close()  # the consumer "dies" holding 20 unacked events
    again = open_bus(url)
    try:
        if url.startswith("nats://"):
            time.sleep(1.5)
        redelivered = _drain(again, "clicks", "g")
        assert sorted(d.event["event_id"] for d in redelivered) == sorted(f"E{i}" for i in range(10, 30))
    finally:
        again.close()


def test_groups_read_independently(bus_at):
    bus = open_bus(bus_at)
    try:
        bus.publish("orders", [{"event_id": "A"}, {"event_id": "B"}])
        one = _drain(bus, "orders", "lake")
        bus.ack("orders", "lake", one)
        other = _drain(bus, "orders", "features")
        assert [d.event["event_id"] for d in other] == ["A", "B"]
    finally:
        bus.close()


def test_an_empty_stream_waits_then_answers_nothing(bus_at):
    bus = open_bus(bus_at)
    try:
        assert bus.consume("quiet", "g", "c1", 10, 0.1) == []
    finally:
        bus.close()


@pytest.mark.unit
@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("amqp://127.0.0.1", "unknown scheme 'amqp'"),
        ("sqlite:///:memory:", "give a file path"),
        ("redis://127.0.0.1:6379/0?prefix=", "prefix must not be empty"),
        ("nats://127.0.0.1:4222?ack_wait=soon", "ack_wait must be seconds"),
        ("nats://127.0.0.1:4222?colour=red", "unknown option"),
        ("kafka://", "give the brokers"),
    ],
)
def test_bad_bus_urls_are_named(url, message):
    with pytest.raises(ZhongtaiError, match=message):
        open_bus(url)


@pytest.mark.unit
def test_kafka_keeps_the_protocol_and_passes_options_to_librdkafka():
    bus = open_bus("kafka://127.0.0.1:1,127.0.0.1:2?prefix=shop&security.protocol=PLAINTEXT")
    assert isinstance(bus, EventBus)
    assert bus.config == {"bootstrap.servers": "127.0.0.1:1,127.0.0.1:2", "security.protocol": "PLAINTEXT"}
    assert bus.topic("clicks") == "shop.clicks"
    bus.close()


@pytest.mark.integration
def test_kafka_without_a_broker_fails_with_a_named_error(monkeypatch):
    import zhongtai.connect.streams.kafka as kafka

    monkeypatch.setattr(kafka, "FLUSH_TIMEOUT_S", 2.0)
    bus = open_bus("kafka://127.0.0.1:9?message.timeout.ms=1500")
    with pytest.raises(ZhongtaiError, match=r"Kafka topic 'zt\.clicks'"):
        bus.publish("clicks", [{"event_id": "E1"}])
    bus._producer = None  # nothing was delivered; closing must not wait for it again
    bus.close()
