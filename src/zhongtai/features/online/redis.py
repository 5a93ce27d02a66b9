"""The online store on Redis, with a cluster-ready key layout.

Key `{prefix}:{<entity key>}:{view}`: the braces are a Redis Cluster hash tag, so every view of one entity lands
in one slot and a read of several views is ONE MGET even on a cluster. Values are JSON objects.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from itertools import islice
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from zhongtai.errors import ZhongtaiError

BATCH_ROWS = 1000
DEFAULT_PREFIX = "zt"
_GLOB_SPECIAL = re.compile(r"([*?\[\]\\])")


class RedisOnlineStore:
    """Latest feature values in Redis (see the module docstring)."""

    def __init__(self, client: Any, prefix: str = DEFAULT_PREFIX) -> None:
        self.client = client
        self.prefix = prefix

    def key(self, view: str, entity: str) -> str:
        return f"{self.prefix}:{{{entity}}}:{view}"

    def write(self, view: str, rows: Iterable[tuple[str, dict[str, Any]]]) -> int:
        """SET each entity's values, pipelined in batches of BATCH_ROWS (no MULTI: batches need not be atomic)."""
        written = 0
        it = iter(rows)
        while batch := list(islice(it, BATCH_ROWS)):
            pipe = self.client.pipeline(transaction=False)
            for entity, values in batch:
                pipe.set(self.key(view, entity), json.dumps(values))
            pipe.execute()
            written += len(batch)
        return written

    def read(self, key: str, views: Sequence[str]) -> dict[str, dict[str, Any] | None]:
        """One entity's values for several views in one MGET; None for a view with no value."""
        if not views:
            return {}
        values = self.client.mget([self.key(view, key) for view in views])
        return {
            view: None if raw is None else json.loads(raw) for view, raw in zip(views, values, strict=True)
        }

    def clear(self, view: str) -> None:
        """Delete every key of a view: SCAN for them (never KEYS, which blocks the server), DEL in batches."""
        pattern = f"{_glob_escape(self.prefix)}:{{*}}:{_glob_escape(view)}"
        batch: list[bytes] = []
        for found in self.client.scan_iter(match=pattern, count=BATCH_ROWS):
            batch.append(found)
            if len(batch) >= BATCH_ROWS:
                self._delete(batch)
                batch = []
        if batch:
            self._delete(batch)

    def close(self) -> None:
        self.client.close()

    def _delete(self, keys: list[bytes]) -> None:
        # One DEL per key in a pipeline rather than one multi-key DEL: on a cluster the keys span slots.
        pipe = self.client.pipeline(transaction=False)
        for key in keys:
            pipe.delete(key)
        pipe.execute()


def _glob_escape(text: str) -> str:
    return _GLOB_SPECIAL.sub(r"\\\1", text)


def open_store(url: str) -> RedisOnlineStore:
    """`redis://host:port/db`, optionally `?prefix=name` for the key prefix (default `zt`)."""
    import redis

    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    prefix = next((v for k, v in query if k == "prefix"), DEFAULT_PREFIX)
    if not prefix:
        raise ZhongtaiError("invalid_argument", f"online store URL {url!r}: prefix must not be empty")
    rest = urlencode([(k, v) for k, v in query if k != "prefix"])
    try:
        client = redis.Redis.from_url(urlunsplit(parts._replace(query=rest)))
    except ValueError as exc:
        raise ZhongtaiError("invalid_argument", f"online store URL {url!r}: {exc}") from None
    return RedisOnlineStore(client, prefix)
