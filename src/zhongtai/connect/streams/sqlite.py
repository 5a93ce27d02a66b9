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
from typing import Any

from zhongtai.connect.sqlite_file import ThreadConnections, file_path
from zhongtai.connect.streams.base import Delivery, decode, encode

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
        self._connections = ThreadConnections(path)
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
        self._connections.close()

    def _offset(self, stream: str, group: str) -> int:
        row = (
            self._connection()
            .execute("SELECT seq FROM bus_offsets WHERE stream = ? AND grp = ?", (stream, group))
            .fetchone()
        )
        return row[0] if row else 0

    def _connection(self) -> sqlite3.Connection:
        return self._connections.get()


def open_bus(url: str) -> SqliteBus:
    """`sqlite:///relative/bus.db` or `sqlite:////absolute/bus.db`."""
    path = file_path(url, "bus", "sqlite:////tmp/bus.db")
    return SqliteBus(path)
