"""The embedded bus: a durable log in one SQLite file (WAL), consumer-group offsets beside it.

Publishing commits the events before it returns, so nothing published is lost with the process; consumers in
the same process are woken at once, consumers in other processes (`zhongtai stream run` beside the gateway)
poll the log every POLL_S. Each group keeps one offset: the events up to it are acked. Run one consumer
per group (the embedded bus does not split a stream between consumers). Events that every group has acked
are deleted once they are RETAIN_S old, so a group that starts later still finds the last hour.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from zhongtai.connect.streams.base import Delivery, decode, encode
from zhongtai.errors import ZhongtaiError

POLL_S = 0.02
RETAIN_S = 3600.0
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS bus_events (seq INTEGER PRIMARY KEY AUTOINCREMENT, stream TEXT NOT NULL, "
    "payload BLOB NOT NULL, published_at REAL NOT NULL)",
    "CREATE INDEX IF NOT EXISTS bus_events_stream ON bus_events (stream, seq)",
    "CREATE TABLE IF NOT EXISTS bus_offsets (stream TEXT NOT NULL, grp TEXT NOT NULL, seq INTEGER NOT NULL, "
    "PRIMARY KEY (stream, grp)) WITHOUT ROWID",
)


class SqliteBus:
    """See the module docstring."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._published = threading.Condition()
        self._cursors: dict[tuple[str, str], int] = {}
        con = self._connection()
        with con:
            for statement in _SCHEMA:
                con.execute(statement)

    def publish(self, stream: str, events: Sequence[Mapping[str, Any]]) -> None:
        """Append the events in one transaction."""
        at = time.time()
        con = self._connection()
        with con:
            con.executemany(
                "INSERT INTO bus_events (stream, payload, published_at) VALUES (?, ?, ?)",
                [(stream, encode(e), at) for e in events],
            )
        with self._published:
            self._published.notify_all()

    def consume(
        self, stream: str, group: str, consumer: str, max_events: int, wait_s: float
    ) -> list[Delivery]:
        """The next events after this group's cursor (its acked offset when the consumer starts)."""
        key = (stream, group)
        if key not in self._cursors:
            self._cursors[key] = self._offset(stream, group)
        deadline = time.monotonic() + wait_s
        while True:
            rows = (
                self._connection()
                .execute(
                    "SELECT seq, payload, published_at FROM bus_events WHERE stream = ? AND seq > ? ORDER BY seq LIMIT ?",
                    (stream, self._cursors[key], max_events),
                )
                .fetchall()
            )
            remaining = deadline - time.monotonic()
            if rows or remaining <= 0:
                break
            with self._published:
                self._published.wait(min(POLL_S, remaining))
        if rows:
            self._cursors[key] = rows[-1][0]
        where = f"stream '{stream}'"
        return [Delivery(decode(payload, where), at, seq) for seq, payload, at in rows]

    def ack(self, stream: str, group: str, deliveries: Sequence[Delivery]) -> None:
        """Move the group's offset to the newest acked event, then drop old events every group has acked."""
        if not deliveries:
            return
        newest = max(d.token for d in deliveries)
        con = self._connection()
        with con:
            con.execute(
                "INSERT INTO bus_offsets (stream, grp, seq) VALUES (?, ?, ?) ON CONFLICT (stream, grp) "
                "DO UPDATE SET seq = max(seq, excluded.seq)",
                (stream, group, newest),
            )
            con.execute(
                "DELETE FROM bus_events WHERE stream = ? AND published_at < ? "
                "AND seq <= (SELECT min(seq) FROM bus_offsets WHERE stream = ?)",
                (stream, time.time() - RETAIN_S, stream),
            )

    def pending(self, stream: str, group: str) -> int:
        """Events of the stream the group has not acked yet."""
        (count,) = (
            self._connection()
            .execute(
                "SELECT count(*) FROM bus_events WHERE stream = ? AND seq > ?",
                (stream, self._offset(stream, group)),
            )
            .fetchone()
        )
        return count

    def close(self) -> None:
        with self._lock:
            for con in self._all:
                con.close()
            self._all.clear()
        self._local = threading.local()

    def _offset(self, stream: str, group: str) -> int:
        row = (
            self._connection()
            .execute("SELECT seq FROM bus_offsets WHERE stream = ? AND grp = ?", (stream, group))
            .fetchone()
        )
        return row[0] if row else 0

    def _connection(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None:
            con = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA synchronous=NORMAL")
            self._local.con = con
            with self._lock:
                self._all.append(con)
        return con


def open_bus(url: str) -> SqliteBus:
    """`sqlite:///relative/bus.db` or `sqlite:////absolute/bus.db`."""
    if not url.startswith("sqlite:///"):
        raise ZhongtaiError("invalid_argument", f"bus URL {url!r}: expected sqlite:///path")
    path = url[len("sqlite:///") :].split("?", 1)[0]
    if not path or path == ":memory:":
        raise ZhongtaiError(
            "invalid_argument",
            f"bus URL {url!r}: give a file path",
            "the embedded bus is shared with other processes through its file, e.g. sqlite:////tmp/bus.db",
        )
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return SqliteBus(path)
