"""Private files: what the platform writes to local disk about people is readable by its owner only (0600).

The metadata store, the online store and the embedded bus are SQLite files, and the decision log spills to
JSON lines; all of them hold decisions, inputs or feature values. SQLite would create a database 0644 (less
the umask), and it gives the `-wal` and `-shm` files the database file's mode, so creating the database file
0600 before SQLite opens it makes all three private. The mode is set with fchmod, not left to the umask, so
it is 0600 under any umask; a file an earlier version created readable by others is tightened on open.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path
from typing import TextIO

PRIVATE = 0o600
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def ensure_private_database(path: str | Path) -> None:
    """Create the SQLite file `path` empty and 0600 if it is missing; tighten it and its side files if not."""
    path = Path(path)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE)
    except FileExistsError:
        for file in (path, *(path.with_name(path.name + side) for side in SQLITE_SIDE_FILES)):
            _tighten(file)
        return
    try:
        os.fchmod(descriptor, PRIVATE)
    finally:
        os.close(descriptor)


def open_private_append(path: Path) -> TextIO:
    """`path` opened for appending text (UTF-8), created 0600, and made 0600 if it was not."""
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, PRIVATE)
    try:
        os.fchmod(descriptor, PRIVATE)
    except OSError:
        os.close(descriptor)
        raise
    return os.fdopen(descriptor, "a", encoding="utf8")


def _tighten(path: Path) -> None:
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return
    if mode & 0o077:
        path.chmod(PRIVATE)


def replace_private(path: Path, text: str) -> None:
    """Replace `path` with `text` (UTF-8) atomically: readers see the old file or the new one, never a part;
    the new file is 0600 from its creation."""
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE)
    try:
        os.fchmod(descriptor, PRIVATE)
        with os.fdopen(descriptor, "w", encoding="utf8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        draft.unlink(missing_ok=True)
        raise
    os.replace(draft, path)
