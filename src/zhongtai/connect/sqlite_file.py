"""A SQLite file shared by threads and processes: the embedded online store and the embedded bus both use one.

Each thread gets its own connection in WAL mode (readers run beside the one writer), opened once and reused,
so a multi-threaded server reads without a lock of ours; `close` closes every thread's connection. The file
(and its -wal and -shm files) is private to its owner, 0600 (govern/private_files.py): it holds feature
values and events.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from zhongtai.errors import ZhongtaiError
from zhongtai.govern.private_files import ensure_private_database


class ThreadConnections:
    """One connection per thread to a SQLite file."""

    def __init__(self, path: str) -> None:
        self.path = path
        ensure_private_database(path)
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    def get(self) -> sqlite3.Connection:
        """This thread's connection, opened on first use."""
        con = getattr(self._local, "con", None)
        if con is None:
            # check_same_thread=False only so close() may close every thread's connection; each thread still
            # uses its own.
            con = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA synchronous=NORMAL")
            self._local.con = con
            with self._lock:
                self._all.append(con)
        return con

    def close(self) -> None:
        """Close every thread's connection; a later `get` opens a new one."""
        with self._lock:
            for con in self._all:
                con.close()
            self._all.clear()
        self._local = threading.local()


def file_path(url: str, role: str, example: str) -> str:
    """The file of a `sqlite:///relative/path` or `sqlite:////absolute/path` URL, its folder created.

    `role` names what the URL configures in errors ("online store", "bus"); an in-memory database is refused,
    as it would differ per thread and per process.
    """
    if not url.startswith("sqlite:///"):
        raise ZhongtaiError("invalid_argument", f"{role} URL {url!r}: expected sqlite:///path")
    path = url[len("sqlite:///") :].split("?", 1)[0]
    if not path or path == ":memory:":
        raise ZhongtaiError(
            "invalid_argument",
            f"{role} URL {url!r}: give a file path",
            f"an in-memory database would differ per thread and process; use a file, e.g. {example}",
        )
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return path
