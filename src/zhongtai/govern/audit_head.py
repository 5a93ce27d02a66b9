"""The audit chain's head outside the database, so `zhongtai audit verify` catches a truncated tail (the log
ends before the exported head) and a rewritten one (the exported record's hash changed).

After every commit that appended to the log, the new head (seq, hash) goes to:

- a file, `audit/head-<database id>.json` (0600) under the SQLite database's folder (the embedded default:
  ZT_HOME) or, for a server database, under ZT_HOME. It is replaced atomically and only ever moves forward:
  a lock file orders the writers and the higher seq wins, so it always names a committed record, whatever
  order concurrent writers finish in. The database id keeps two metadata stores used from one home apart.
- the webhook `ZT_AUDIT_WEBHOOK`, if set: the latest head is POSTed as JSON by a background thread, never by
  the writer, so a slow or failing endpoint delays nothing (a failure is logged; the next head is posted).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

import sqlalchemy as sa

from zhongtai.config import mask_url
from zhongtai.errors import ZhongtaiError
from zhongtai.govern.audit import timestamp
from zhongtai.govern.private_files import open_private_append, replace_private
from zhongtai.meta.time import now

log = logging.getLogger(__name__)
_WEBHOOK_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Head:
    """The last record a writer appended, as exported: its number and hash, when, and to which database."""

    seq: int
    hash: str
    at: str
    database: str


def database_name(url: str) -> str:
    """The metadata database a URL names, without driver or password: the same text from every process."""
    parsed = sa.make_url(url)
    backend = parsed.drivername.split("+", 1)[0]
    if backend == "sqlite":
        return f"sqlite:{Path(parsed.database or ':memory:').expanduser().absolute()}"
    return f"{backend}://{parsed.host or ''}:{parsed.port or ''}/{parsed.database or ''}"


def head_file(url: str, home: Path | None) -> Path | None:
    """Where the head of the metadata store `url` is exported; None for a server database with no home."""
    parsed = sa.make_url(url)
    if parsed.drivername.startswith("sqlite"):
        if not parsed.database or parsed.database == ":memory:":
            return None
        folder = Path(parsed.database).expanduser().absolute().parent
    elif home is not None:
        folder = home
    else:
        return None
    digest = hashlib.sha256(database_name(url).encode()).hexdigest()[:12]
    return folder / "audit" / f"head-{digest}.json"


def read_head(path: Path) -> Head | None:
    """The exported head, or None when none was exported yet; an unreadable file is an error (a person or a
    program changed it)."""
    try:
        text = path.read_text(encoding="utf8")
    except FileNotFoundError:
        return None
    try:
        value = json.loads(text)
        return Head(int(value["seq"]), str(value["hash"]), str(value["at"]), str(value["database"]))
    except (ValueError, KeyError, TypeError):
        raise ZhongtaiError(
            "invalid_config",
            f"the exported audit head {path} is not a head this platform wrote",
            "restore it from a backup or the webhook's copy; verify cannot check the tail without it",
        ) from None


class HeadExport:
    """Exports each new head to the file and the webhook; called by the store after an appending commit."""

    def __init__(self, path: Path | None, webhook: str | None, database: str) -> None:
        self.path = path
        self.webhook = webhook or None
        self.database = database
        self._latest: Head | None = None
        self._poster: threading.Thread | None = None
        self._lock = threading.Lock()

    def __call__(self, seq: int, hash_: str) -> None:
        head = Head(seq, hash_, timestamp(now()), self.database)
        if self.path is not None:
            try:
                _write_forward(self.path, head)
            except OSError as exc:  # the change is committed; losing one export only delays the next
                log.warning("audit head: writing %s failed (%s)", self.path, exc.strerror or exc)
        if self.webhook is not None:
            self._post_later(head)

    def _post_later(self, head: Head) -> None:
        """Keep only the newest head and make sure one poster thread is running to send it."""
        with self._lock:
            self._latest = head
            if self._poster is None:
                # Not a daemon: a CLI command that appended posts its head before the process exits.
                self._poster = threading.Thread(target=self._post_all, name="zt-audit-head", daemon=False)
                self._poster.start()

    def _post_all(self) -> None:
        import httpx

        while True:
            with self._lock:
                head, self._latest = self._latest, None
                if head is None:
                    self._poster = None
                    return
            try:
                httpx.post(
                    str(self.webhook), json=asdict(head), timeout=_WEBHOOK_TIMEOUT_S
                ).raise_for_status()
            except httpx.HTTPError as exc:
                log.warning(
                    "audit head: posting record %d to %s failed (%s)",
                    head.seq,
                    mask_url(str(self.webhook)),
                    type(exc).__name__,
                )

    def flush(self, timeout_s: float = _WEBHOOK_TIMEOUT_S * 2) -> None:
        """Wait until the newest head has been posted (or the wait times out)."""
        with self._lock:
            poster = self._poster
        if poster is not None:
            poster.join(timeout_s)


def _write_forward(path: Path, head: Head) -> None:
    """Replace the head file with `head` unless it already names a later record (writers race)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open_private_append(path.with_name(path.name + ".lock")) as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            current = read_head(path)
        except ZhongtaiError:
            # Kept as evidence: overwriting it would hide a tail truncated after the damage. Verify reports it.
            log.warning("audit head: %s is damaged; not replacing it (zhongtai audit verify)", path)
            return
        if current is None or current.seq < head.seq:
            replace_private(path, json.dumps(asdict(head)) + "\n")
