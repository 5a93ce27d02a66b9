"""The event bus protocol and the registry that picks a backend by URL scheme (lazy imports).

Delivery is at least once: `consume` hands out events, and only `ack` makes the group move past them. A
consumer that dies before acking gets the same events again when it (or its successor of the same name)
comes back, so what it writes must be idempotent.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from zhongtai.errors import ZhongtaiError

# One module per backend; each exposes `open_bus(url: str) -> EventBus`.
_BACKENDS = {
    "sqlite": "zhongtai.connect.streams.sqlite",
    "redis": "zhongtai.connect.streams.redis",
    "rediss": "zhongtai.connect.streams.redis",
    "nats": "zhongtai.connect.streams.nats",
    "kafka": "zhongtai.connect.streams.kafka",
}


@dataclass(frozen=True)
class Delivery:
    """One event handed to a consumer: `token` is what the backend needs to ack it."""

    event: dict[str, Any]
    published_at: float  # epoch seconds when the bus accepted it: the clock freshness is measured from
    token: Any


@runtime_checkable
class EventBus(Protocol):
    """Named streams of JSON events, read by consumer groups."""

    def publish(self, stream: str, events: Sequence[Mapping[str, Any]]) -> None:
        """Append events to a stream; durable when it returns."""
        ...

    def consume(
        self, stream: str, group: str, consumer: str, max_events: int, wait_s: float
    ) -> list[Delivery]:
        """Up to `max_events` events the group has not acked, waiting up to `wait_s` for the first one.

        Events handed to this consumer before and never acked (it crashed) come first.
        """
        ...

    def ack(self, stream: str, group: str, deliveries: Sequence[Delivery]) -> None:
        """Mark the deliveries done for the group: they are not handed out again."""
        ...

    def close(self) -> None: ...


def encode(event: Mapping[str, Any]) -> bytes:
    """An event as it travels: compact JSON (datetimes as ISO text)."""
    return json.dumps(event, separators=(",", ":"), default=_iso).encode()


def decode(raw: bytes | str, where: str) -> dict[str, Any]:
    """An event off the wire; a message that is not a JSON object is named, not silently dropped."""
    try:
        event = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ZhongtaiError("invalid_argument", f"{where}: a message is not JSON: {exc}") from None
    if not isinstance(event, dict):
        raise ZhongtaiError(
            "invalid_argument", f"{where}: a message is {type(event).__name__}, not a JSON object"
        )
    return event


def _iso(value: Any) -> str:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def bus_scheme(url: str) -> str:
    return url.split(":", 1)[0].split("+", 1)[0]


def open_bus(url: str) -> EventBus:
    """The bus for `ZT_BUS_URL`: `sqlite:///path` (embedded default), `redis://`, `nats://` or `kafka://`."""
    scheme = bus_scheme(url)
    module = _BACKENDS.get(scheme)
    if module is None:
        raise ZhongtaiError(
            "invalid_argument",
            f"bus URL {url!r}: unknown scheme '{scheme}'",
            f"use one of: {', '.join(f'{s}://' for s in _BACKENDS)}",
        )
    return importlib.import_module(module).open_bus(url)
