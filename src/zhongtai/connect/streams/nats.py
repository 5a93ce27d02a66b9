"""The bus on NATS JetStream: a file-backed stream per name, a durable pull consumer per group, ack after write.

Stream `{PREFIX}_{name}` on subject `{prefix}.{name}`. Messages a consumer fetched and never acked (it died)
are delivered again once `ack_wait` has passed (default 60 s, `?ack_wait=` in the URL), so the consumer must
ack well within it: `zhongtai stream run` refuses a flush interval that is not shorter. nats-py is asyncio;
this class runs its own event loop in one background thread and offers the synchronous bus protocol.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Coroutine, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from zhongtai.connect.streams.base import Delivery, decode, encode
from zhongtai.errors import ZhongtaiError

DEFAULT_PREFIX = "zt"
DEFAULT_ACK_WAIT_S = 60.0
PUBLISH_BATCH = 500
TIMEOUT_S = 30.0
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


class NatsBus:
    """See the module docstring."""

    def __init__(
        self, servers: str, prefix: str = DEFAULT_PREFIX, ack_wait_s: float = DEFAULT_ACK_WAIT_S
    ) -> None:
        self.prefix = prefix
        self.ack_wait_s = ack_wait_s
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="nats-bus", daemon=True)
        self._thread.start()
        self._streams: set[str] = set()
        self._subscriptions: dict[tuple[str, str], Any] = {}
        self._nc, self._js = self._run(self._connect(servers))

    def subject(self, stream: str) -> str:
        return f"{self.prefix}.{stream}"

    def stream_name(self, stream: str) -> str:
        return _UNSAFE.sub("_", f"{self.prefix}_{stream}").upper()

    def publish(self, stream: str, events: Sequence[Mapping[str, Any]]) -> None:
        """Publish and wait for JetStream's acknowledgement of every event (stored when this returns)."""
        self._run(self._publish(stream, events))

    def consume(
        self, stream: str, group: str, consumer: str, max_events: int, wait_s: float
    ) -> list[Delivery]:
        """Fetch from the group's durable consumer; redelivered messages come back here too."""
        return self._run(self._fetch(stream, group, max_events, wait_s))

    def ack(self, stream: str, group: str, deliveries: Sequence[Delivery]) -> None:
        """Ack every message and flush, so the acks have reached the server when this returns."""
        self._run(self._ack(deliveries))

    def pending(self, stream: str, group: str) -> int:
        """Messages the group has not acked: never delivered plus delivered and waiting for an ack."""
        return self._run(self._pending(stream, group))

    def close(self) -> None:
        try:
            self._run(self._nc.close())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)
            self._loop.close()

    def _run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(TIMEOUT_S + 5)

    async def _connect(self, servers: str) -> tuple[Any, Any]:
        import nats

        try:
            nc = await nats.connect(
                servers, connect_timeout=5, max_reconnect_attempts=3, allow_reconnect=True
            )
        except Exception as exc:  # nats raises several kinds; all mean the same to the user
            raise ZhongtaiError(
                "source_error",
                f"NATS at {servers}: {exc or type(exc).__name__}",
                "is nats-server -js running?",
            ) from None
        return nc, nc.jetstream(timeout=TIMEOUT_S)

    async def _ensure_stream(self, stream: str) -> None:
        from nats.js.errors import NotFoundError

        name = self.stream_name(stream)
        if name in self._streams:
            return
        try:
            await self._js.stream_info(name)
        except NotFoundError:
            await self._js.add_stream(name=name, subjects=[self.subject(stream)], storage="file")
        self._streams.add(name)

    async def _publish(self, stream: str, events: Sequence[Mapping[str, Any]]) -> None:
        await self._ensure_stream(stream)
        subject = self.subject(stream)
        for start in range(0, len(events), PUBLISH_BATCH):
            chunk = events[start : start + PUBLISH_BATCH]
            await asyncio.gather(*(self._js.publish(subject, encode(e)) for e in chunk))

    async def _subscription(self, stream: str, group: str) -> Any:
        from nats.js.api import AckPolicy, ConsumerConfig

        if (stream, group) not in self._subscriptions:
            await self._ensure_stream(stream)
            config = ConsumerConfig(
                ack_policy=AckPolicy.EXPLICIT, ack_wait=self.ack_wait_s, max_ack_pending=1_000_000
            )
            self._subscriptions[(stream, group)] = await self._js.pull_subscribe(
                self.subject(stream),
                durable=_UNSAFE.sub("_", group),
                stream=self.stream_name(stream),
                config=config,
            )
        return self._subscriptions[(stream, group)]

    async def _fetch(self, stream: str, group: str, max_events: int, wait_s: float) -> list[Delivery]:
        import nats.errors

        subscription = await self._subscription(stream, group)
        try:
            messages = await subscription.fetch(batch=max_events, timeout=max(wait_s, 0.05))
        except (nats.errors.TimeoutError, TimeoutError):  # nats-py raises either when nothing arrived in time
            return []
        where = f"stream '{stream}'"
        return [Delivery(decode(m.data, where), m.metadata.timestamp.timestamp(), m) for m in messages]

    async def _ack(self, deliveries: Sequence[Delivery]) -> None:
        for delivery in deliveries:
            await delivery.token.ack()
        await self._nc.flush()

    async def _pending(self, stream: str, group: str) -> int:
        await self._subscription(stream, group)
        info = await self._js.consumer_info(self.stream_name(stream), _UNSAFE.sub("_", group))
        return int(info.num_pending or 0) + int(info.num_ack_pending or 0)


def open_bus(url: str) -> NatsBus:
    """`nats://host:4222`, optionally `?prefix=name&ack_wait=seconds`."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    prefix = query.pop("prefix", DEFAULT_PREFIX)
    if not re.fullmatch(r"[A-Za-z0-9_-]+", prefix):
        raise ZhongtaiError("invalid_argument", f"bus URL {url!r}: prefix must be letters, digits, _ or -")
    try:
        ack_wait = float(query.pop("ack_wait", DEFAULT_ACK_WAIT_S))
    except ValueError:
        raise ZhongtaiError("invalid_argument", f"bus URL {url!r}: ack_wait must be seconds") from None
    if query:
        raise ZhongtaiError("invalid_argument", f"bus URL {url!r}: unknown option(s) {', '.join(query)}")
    return NatsBus(urlunsplit(parts._replace(query="")), prefix, ack_wait)
