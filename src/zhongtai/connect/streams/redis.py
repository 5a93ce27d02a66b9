"""The bus on Redis Streams: XADD to publish, a consumer group per reader, XACK after the write.

Stream key `{prefix}:stream:{name}`. A consumer reads its own pending entries first (what it was handed
before a crash and never acked), then new ones with `>`; so a restarted consumer of the same name picks up
exactly where the dead one stopped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from zhongtai.connect.redis_url import DEFAULT_PREFIX, redis_client, text
from zhongtai.connect.streams.base import Delivery, decode, encode
from zhongtai.errors import ZhongtaiError

PUBLISH_BATCH = 1000


class RedisBus:
    """See the module docstring."""

    def __init__(self, client: Any, prefix: str = DEFAULT_PREFIX) -> None:
        self.client = client
        self.prefix = prefix
        self._groups: set[tuple[str, str]] = set()
        # Per consumer: where its re-read of its own pending entries stands; absent once all are re-read.
        self._replay_from: dict[tuple[str, str, str], str] = {}
        self._drained: set[tuple[str, str, str]] = set()

    def key(self, stream: str) -> str:
        return f"{self.prefix}:stream:{stream}"

    def publish(self, stream: str, events: Sequence[Mapping[str, Any]]) -> None:
        """XADD every event, pipelined."""
        key = self.key(stream)
        for start in range(0, len(events), PUBLISH_BATCH):
            pipe = self.client.pipeline(transaction=False)
            for event in events[start : start + PUBLISH_BATCH]:
                pipe.xadd(key, {"e": encode(event)})
            pipe.execute()

    def consume(
        self, stream: str, group: str, consumer: str, max_events: int, wait_s: float
    ) -> list[Delivery]:
        """This consumer's unacked entries first, then new ones (blocking up to `wait_s`)."""
        import redis

        key = self.key(stream)
        self._ensure_group(key, group)
        mine = (key, group, consumer)
        if mine not in self._drained:
            start = self._replay_from.get(mine, "0")
            found = self.client.xreadgroup(group, consumer, {key: start}, count=max_events)
            entries = found[0][1] if found else []
            if entries:
                self._replay_from[mine] = text(entries[-1][0])
                return self._deliveries(stream, entries)
            self._drained.add(mine)
        try:
            found = self.client.xreadgroup(
                group, consumer, {key: ">"}, count=max_events, block=max(1, int(wait_s * 1000))
            )
        except redis.ResponseError as exc:
            raise ZhongtaiError("source_error", f"stream '{stream}': {exc}") from None
        return self._deliveries(stream, found[0][1] if found else [])

    def ack(self, stream: str, group: str, deliveries: Sequence[Delivery]) -> None:
        """XACK the entries (one command for the lot)."""
        if deliveries:
            self.client.xack(self.key(stream), group, *[d.token for d in deliveries])

    def pending(self, stream: str, group: str) -> int:
        """Entries handed out to the group and not acked, plus those never handed out."""
        key = self.key(stream)
        self._ensure_group(key, group)
        info = next(g for g in self.client.xinfo_groups(key) if text(g["name"]) == group)
        lag = info.get("lag")
        return int(info["pending"]) + int(lag or 0)

    def close(self) -> None:
        self.client.close()

    def _ensure_group(self, key: str, group: str) -> None:
        import redis

        if (key, group) in self._groups:
            return
        try:
            self.client.xgroup_create(key, group, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._groups.add((key, group))

    def _deliveries(self, stream: str, entries: list[Any]) -> list[Delivery]:
        where = f"stream '{stream}'"
        out = []
        for entry_id, fields in entries:
            if not fields:  # an entry deleted while pending: nothing left to deliver
                continue
            ms = int(text(entry_id).split("-", 1)[0])
            out.append(Delivery(decode(fields[b"e"], where), ms / 1000, entry_id))
        return out


def open_bus(url: str) -> RedisBus:
    """`redis://host:port/db`, optionally `?prefix=name` for the key prefix (default `zt`)."""
    client, prefix = redis_client(url, "bus")
    return RedisBus(client, prefix)
