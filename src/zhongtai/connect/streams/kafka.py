"""The bus on Kafka through confluent-kafka: a topic per stream, a consumer group per reader, offsets committed
by hand after the write (`enable.auto.commit` off), so a consumer that dies re-reads from its last commit.

`kafka://broker1:9092,broker2:9092?prefix=zt` gives topic `{prefix}.{name}`; any other query key is passed
to librdkafka as is (`security.protocol`, `sasl.mechanism`...). The consumer is created per (stream, group)
on first use and keeps its assignment; one process should read a group's partitions through one bus object.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from zhongtai.connect.streams.base import Delivery, decode, encode
from zhongtai.errors import ZhongtaiError

DEFAULT_PREFIX = "zt"
FLUSH_TIMEOUT_S = 30.0


class KafkaBus:
    """See the module docstring."""

    def __init__(self, config: dict[str, str], prefix: str = DEFAULT_PREFIX) -> None:
        self.config = config
        self.prefix = prefix
        self._producer: Any = None
        self._consumers: dict[tuple[str, str, str], Any] = {}

    def topic(self, stream: str) -> str:
        return f"{self.prefix}.{stream}"

    def publish(self, stream: str, events: Sequence[Mapping[str, Any]]) -> None:
        """Produce every event and wait until the brokers have them all (acks=all)."""
        from confluent_kafka import Producer

        if self._producer is None:
            self._producer = Producer({**self.config, "acks": "all", "enable.idempotence": True})
        failures: list[str] = []

        def delivered(error: Any, _message: Any) -> None:
            if error is not None:
                failures.append(str(error))

        topic = self.topic(stream)
        for event in events:
            self._producer.produce(topic, encode(event), on_delivery=delivered)
            self._producer.poll(0)
        left = self._producer.flush(FLUSH_TIMEOUT_S)
        if failures or left:
            reason = (
                failures[0] if failures else f"{left} events still unconfirmed after {FLUSH_TIMEOUT_S:.0f} s"
            )
            raise ZhongtaiError(
                "source_error", f"Kafka topic '{topic}': {reason}", "are the brokers reachable?"
            )

    def consume(
        self, stream: str, group: str, consumer: str, max_events: int, wait_s: float
    ) -> list[Delivery]:
        """Poll the group's partitions from their committed offsets."""
        messages = self._consumer(stream, group, consumer).consume(num_messages=max_events, timeout=wait_s)
        where = f"topic '{self.topic(stream)}'"
        out = []
        for message in messages:
            if message.error() is not None:
                raise ZhongtaiError("source_error", f"{where}: {message.error()}")
            _, ms = message.timestamp()
            out.append(Delivery(decode(message.value(), where), ms / 1000, message))
        return out

    def ack(self, stream: str, group: str, deliveries: Sequence[Delivery]) -> None:
        """Commit, per partition, the offset after the newest acked message (synchronously)."""
        from confluent_kafka import TopicPartition

        if not deliveries:
            return
        newest: dict[tuple[str, int], int] = {}
        for delivery in deliveries:
            message = delivery.token
            at = (message.topic(), message.partition())
            newest[at] = max(newest.get(at, -1), message.offset())
        offsets = [
            TopicPartition(topic, partition, offset + 1) for (topic, partition), offset in newest.items()
        ]
        consumer = next(c for (s, g, _), c in self._consumers.items() if s == stream and g == group)
        consumer.commit(offsets=offsets, asynchronous=False)

    def close(self) -> None:
        for consumer in self._consumers.values():
            consumer.close()
        self._consumers.clear()
        if self._producer is not None:
            self._producer.flush(FLUSH_TIMEOUT_S)

    def _consumer(self, stream: str, group: str, consumer: str) -> Any:
        from confluent_kafka import Consumer

        key = (stream, group, consumer)
        if key not in self._consumers:
            created = Consumer(
                {
                    **self.config,
                    "group.id": group,
                    "client.id": consumer,
                    "enable.auto.commit": False,
                    "auto.offset.reset": "earliest",
                }
            )
            created.subscribe([self.topic(stream)])
            self._consumers[key] = created
        return self._consumers[key]


def open_bus(url: str) -> KafkaBus:
    """`kafka://host:9092[,host2:9092]?prefix=zt&<librdkafka option>=<value>`."""
    parts = urlsplit(url)
    if not parts.netloc:
        raise ZhongtaiError(
            "invalid_argument", f"bus URL {url!r}: give the brokers, e.g. kafka://127.0.0.1:9092"
        )
    options = dict(parse_qsl(parts.query))
    prefix = options.pop("prefix", DEFAULT_PREFIX)
    return KafkaBus({"bootstrap.servers": parts.netloc, **options}, prefix)
