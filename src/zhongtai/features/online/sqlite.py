"""The embedded online store: one SQLite file in WAL mode, one row per (feature view, entity key).

Each thread gets its own connection (WAL lets readers run beside the one writer), opened once and reused, so a
multi-threaded server reads without a lock of ours. A read of several views is one indexed SELECT.
`read_async` runs that SELECT in a small pool of reader threads of the store's own (SQLite releases the GIL
while it reads), so the gateway's event loop never waits on the file, a page cache miss or a checkpoint.

`replace` runs in ONE write transaction: WAL readers (other threads, other processes) keep reading the last
committed state until the commit, so they see the old set, then the new one. A failure, or a crash of the
writing process, rolls the transaction back. Other writers wait for the commit (up to the busy timeout).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from itertools import islice
from typing import Any

from zhongtai.connect.sqlite_file import ThreadConnections, file_path
from zhongtai.features.online.base import Row, encode_values

BATCH_ROWS = 1000
READ_KEYS = 500  # keys per SELECT of read_many: well under SQLite's limit of bound parameters
# Reader threads of read_async: a read takes tens of microseconds, so two keep up with a gateway process.
READ_THREADS = 2
_SCHEMA = """
CREATE TABLE IF NOT EXISTS feature_values (
    view TEXT NOT NULL,
    entity_key TEXT NOT NULL,
    value TEXT NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (view, entity_key)
) WITHOUT ROWID
"""
_UPSERT = (
    "INSERT INTO feature_values (view, entity_key, value, updated_at) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (view, entity_key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at"
)


class SqliteOnlineStore:
    """Latest feature values in a SQLite file (see the module docstring)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._connections = ThreadConnections(path)
        self._readers: ThreadPoolExecutor | None = None
        self._readers_lock = threading.Lock()
        with self._connection() as con:
            con.execute(_SCHEMA)

    def write(self, view: str, rows: Iterable[Row]) -> int:
        """Upsert many entities' values of one view, one transaction per batch of BATCH_ROWS."""
        con = self._connection()
        written = 0
        it = iter(rows)
        while batch := list(islice(it, BATCH_ROWS)):
            at = time.time()
            with con:
                con.executemany(_UPSERT, [(view, key, encode_values(values), at) for key, values in batch])
            written += len(batch)
        return written

    def replace(self, view: str, rows: Iterable[Row]) -> int:
        """Swap the view's values for `rows` in one transaction (see the module docstring)."""
        con = self._connection()
        written = 0
        at = time.time()
        it = iter(rows)
        # BEGIN IMMEDIATE takes the write lock up front, so the transaction cannot fail on a lock upgrade later.
        con.execute("BEGIN IMMEDIATE")
        try:
            con.execute("DELETE FROM feature_values WHERE view = ?", (view,))
            while batch := list(islice(it, BATCH_ROWS)):
                con.executemany(_UPSERT, [(view, key, encode_values(values), at) for key, values in batch])
                written += len(batch)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        return written

    def read(self, key: str, views: Sequence[str]) -> dict[str, dict[str, Any] | None]:
        """One entity's values for several views in one SELECT; None for a view with no row."""
        out: dict[str, dict[str, Any] | None] = dict.fromkeys(views)
        if not views:
            return out
        marks = ", ".join("?" * len(views))
        rows = self._connection().execute(
            f"SELECT view, value FROM feature_values WHERE view IN ({marks}) AND entity_key = ?",
            [*views, key],
        )
        for view, value in rows:
            out[view] = json.loads(value)
        return out

    async def read_async(self, key: str, views: Sequence[str]) -> dict[str, dict[str, Any] | None]:
        """`read` in one of the store's reader threads, awaited."""
        return await asyncio.get_running_loop().run_in_executor(self._reader_pool(), self.read, key, views)

    def read_many(self, view: str, keys: Sequence[str]) -> list[dict[str, Any] | None]:
        """Many entities' values of one view: one indexed SELECT per READ_KEYS keys."""
        found: dict[str, dict[str, Any]] = {}
        con = self._connection()
        for start in range(0, len(keys), READ_KEYS):
            chunk = list(keys[start : start + READ_KEYS])
            marks = ", ".join("?" * len(chunk))
            rows = con.execute(
                f"SELECT entity_key, value FROM feature_values WHERE view = ? AND entity_key IN ({marks})",
                [view, *chunk],
            )
            for key, value in rows:
                found[key] = json.loads(value)
        return [found.get(key) for key in keys]

    def clear(self, view: str) -> None:
        """Remove every value of a view."""
        con = self._connection()
        with con:
            con.execute("DELETE FROM feature_values WHERE view = ?", (view,))

    def close(self) -> None:
        with self._readers_lock:
            readers, self._readers = self._readers, None
        if readers is not None:
            readers.shutdown(wait=True)
        self._connections.close()

    async def aclose(self) -> None:
        """Nothing of the loop's to release: the reader threads stop in `close`."""

    def _reader_pool(self) -> ThreadPoolExecutor:
        if self._readers is None:
            with self._readers_lock:
                if self._readers is None:
                    self._readers = ThreadPoolExecutor(READ_THREADS, thread_name_prefix="zt-online-read")
        return self._readers

    def _connection(self) -> sqlite3.Connection:
        return self._connections.get()


def open_store(url: str) -> SqliteOnlineStore:
    """`sqlite:///relative/path.db` or `sqlite:////absolute/path.db` (SQLAlchemy's convention)."""
    path = file_path(url, "online store", "sqlite:////tmp/online.db")
    return SqliteOnlineStore(path)
