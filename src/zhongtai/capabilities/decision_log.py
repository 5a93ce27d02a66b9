"""The decision log: decisions leave the hot path through a bounded queue and are written in batches.

A request only ever does `put_nowait`; when the queue is full (the database is slow or down) the record goes to
an unbounded overflow queue that a spill thread appends to a local spill file: the request never touches the
disk. One writer thread drains the queue in batches and, whenever it has caught up, replays the spill file. On
close everything still queued is written (or spilled): nothing blocks a request, nothing is lost. The sink
writes each batch with one audit record holding every decision's id and digest (govern/audit.py), in the
batch's transaction: the hash chain covers decisions off the request path.

Spill files are per process (`spill/decisions.<pid>.jsonl`, `spill_path`), so the processes of
`zhongtai serve --workers N` never append to, move or replay one another's file. Each process holds an
exclusive lock on `decisions.<pid>.lock` while it lives; on start it adopts the spill files of processes
that are gone (their lock is free) and of older versions (`decisions.jsonl`), appending them to its own
spill before deleting them, so a crash's records are replayed by whoever starts next. (An adoption cut short
leaves records in both files; the replay recognises the ones already stored as duplicates.)

No PII is kept that callers put in a decision's inputs (or that a feature value quotes): before a record is
written, spilled or set aside, every string in its inputs and features is scrubbed with the recognizers
(govern/redaction.py: `手机13912345678` becomes `手机[phone]`; keys and structure stay). That runs in the
writer and spill threads, off the request path. The spill files are created 0600 (govern/private_files.py).
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import logging
import os
import queue
import re
import threading
import time
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy.exc import DataError, IntegrityError

from zhongtai.govern.private_files import open_private_append
from zhongtai.govern.redaction import scrub
from zhongtai.meta.records import DecisionRecord

log = logging.getLogger(__name__)


class DecisionHandOff(Protocol):
    """Where the request path hands a decision: a `DecisionLog`, or the writer process's `DecisionWriter`."""

    def submit(self, record: DecisionRecord) -> None: ...

    def pending(self) -> int: ...

    def close(self) -> None: ...


class DecisionSink(Protocol):
    """Where batches go: `MetadataStore.decisions` in production."""

    def append(self, decisions: Iterable[DecisionRecord]) -> int: ...


# A spill file of this or an older version: `decisions.jsonl` (before files were per process) or
# `decisions.<pid>.jsonl`, and the `.replaying` file a replay moves it to.
_SPILL_FILE = re.compile(r"decisions(?:\.(\d+))?\.(?:jsonl|replaying)")
_SPILL_BATCH = 500  # records per append of the spill thread
_LINGER_POLL_S = 0.025  # how often a lingering writer looks at the queue again


def spill_path(home: Path, pid: int | None = None) -> Path:
    """This process's spill file in a Zhongtai home (another process's with `pid`)."""
    return home / "spill" / f"decisions.{os.getpid() if pid is None else pid}.jsonl"


def to_json(record: DecisionRecord) -> str:
    """One record as a line of a spill file (and of the writer process's pipe)."""
    body = dict(record.__dict__)
    body["at"] = record.at.isoformat()
    return json.dumps(body, ensure_ascii=False, default=str)


def scrubbed(record: DecisionRecord) -> DecisionRecord:
    """The record with the PII in its inputs, features and output replaced by kind markers (a new record)."""
    return dataclasses.replace(
        record, inputs=scrub(record.inputs), features=scrub(record.features), output=scrub(record.output)
    )


def from_json(line: str) -> DecisionRecord:
    """The record a `to_json` line holds."""
    body: dict[str, Any] = json.loads(line)
    body["at"] = datetime.fromisoformat(body["at"])
    return DecisionRecord(**body)


class DecisionLog:
    """A bounded queue in front of the decision store, drained by one background thread."""

    def __init__(
        self,
        sink: DecisionSink,
        spill: Path,
        maxsize: int = 50_000,
        batch_size: int = 500,
        interval_s: float = 0.2,
        linger_s: float = 0.1,
    ) -> None:
        self._sink = sink
        self._spill = spill
        self._replaying = spill.with_suffix(".replaying")
        self._queue: queue.Queue[DecisionRecord] = queue.Queue(maxsize=maxsize)
        self._batch_size = batch_size
        self._interval_s = interval_s
        self._linger_s = linger_s
        self._rejected = spill.with_name("decisions.rejected.jsonl")  # one for every process: for a person
        self._spill_lock = threading.Lock()
        self._replay_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # Records the full queue turned away, on their way to the spill file (None stops the spill thread).
        self._overflow: queue.Queue[DecisionRecord | None] = queue.Queue()
        self._spiller: threading.Thread | None = None
        self._spiller_lock = threading.Lock()
        self._owner: int | None = None  # the descriptor holding this process's spill lock
        self.spilled = 0  # records that went to the spill file (a figure for metrics and tests)

    def start(self) -> DecisionLog:
        """Start the writer thread, after adopting the spill files of processes that are gone (replayed
        first)."""
        self._spill.parent.mkdir(parents=True, exist_ok=True)
        self._own_spill()
        self._adopt_orphans()
        self._thread = threading.Thread(target=self._run, name="zt-decision-log", daemon=True)
        self._thread.start()
        return self

    def submit(self, record: DecisionRecord) -> None:
        """Hand a decision over without waiting: to the queue, or to the spill thread when the queue is full."""
        try:
            self._queue.put_nowait(record)
        except queue.Full:
            if self._spiller is None:
                self._start_spiller()
            self._overflow.put(record)

    def flush_spill(self) -> None:
        """Wait until every record handed to the spill thread is in the spill file."""
        self._overflow.join()

    def pending(self) -> int:
        """Decisions waiting in the queue (for metrics)."""
        return self._queue.qsize()

    def close(self, timeout_s: float = 10.0) -> None:
        """Stop the writer and write everything still queued or spilled."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None
        self._stop_spiller()
        self._drain_all()
        if self._owner is not None:
            os.close(self._owner)  # releases the lock; the lock file goes once nothing is left to replay
            self._owner = None
            if not self._spill.exists() and not self._replaying.exists():
                self._lock_file(self._spill).unlink(missing_ok=True)

    # -- the spill thread ----------------------------------------------------------------------------------

    def _start_spiller(self) -> None:
        with self._spiller_lock:
            if self._spiller is None:
                self._spiller = threading.Thread(
                    target=self._spill_run, name="zt-decision-spill", daemon=True
                )
                self._spiller.start()

    def _stop_spiller(self) -> None:
        with self._spiller_lock:
            spiller, self._spiller = self._spiller, None
        if spiller is not None:
            self._overflow.put(None)
            spiller.join()

    def _spill_run(self) -> None:
        """Append what overflows to the spill file, each time all that is waiting (up to _SPILL_BATCH)."""
        stopping = False
        while not stopping:
            batch: list[DecisionRecord] = []
            item = self._overflow.get()
            taken = 1
            while True:
                if item is None:
                    stopping = True
                else:
                    batch.append(item)
                if stopping or len(batch) >= _SPILL_BATCH:
                    break
                try:
                    item = self._overflow.get_nowait()
                except queue.Empty:
                    break
                taken += 1
            try:
                if batch:
                    self._write_spill(batch)
            except Exception:
                log.exception("decision log: could not append %d decisions to the spill file", len(batch))
            finally:
                for _ in range(taken):
                    self._overflow.task_done()

    # -- the writer ----------------------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            batch = self._take(self._interval_s)
            if batch:
                self._write(batch)
            if self._queue.empty():
                self._replay()

    def _take(self, wait_s: float) -> list[DecisionRecord]:
        """Up to one batch: wait briefly for the first record, then gather for up to the linger (none when
        draining, `wait_s` 0).

        A batch costs mostly the same however many records it holds (a commit, the audit record, the audit
        head's fsync), and the writer shares the GIL with the request path: taking only what was already
        queued wrote batches of a handful at a time and cost the gateway nearly half its throughput (768
        against 1,430 decisions/s under wrk, one worker, two cores). The linger polls a few times (never a
        wake-up per record) and stops at once when the log is closed."""
        try:
            batch = [self._queue.get(timeout=wait_s)] if wait_s > 0 else [self._queue.get_nowait()]
        except queue.Empty:
            return []
        deadline = time.monotonic() + (self._linger_s if wait_s > 0 else 0.0)
        while len(batch) < self._batch_size:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                left = deadline - time.monotonic()
                if left <= 0 or self._stop.wait(min(left, _LINGER_POLL_S)):
                    break
        return batch

    def _write(self, batch: list[DecisionRecord]) -> bool:
        """Write one batch; if the store refuses it, keep it in the spill file for a later replay."""
        batch = [scrubbed(r) for r in batch]
        try:
            self._sink.append(batch)
            return True
        except Exception as exc:
            log.warning(
                "decision log: writing %d decisions failed (%s); spilling them", len(batch), _short(exc)
            )
            self._write_spill(batch)
            time.sleep(self._interval_s)  # the store is failing: do not spin on it
            return False

    def _drain_all(self) -> None:
        while batch := self._take(0):
            self._write(batch)
        self._replay()

    # -- the spill file ------------------------------------------------------------------------------------

    @staticmethod
    def _lock_file(spill: Path) -> Path:
        return spill.with_name(spill.name.removesuffix(".jsonl") + ".lock")

    def _own_spill(self) -> None:
        """Hold this process's spill lock while it lives (other processes then leave its files alone)."""
        if self._owner is None:
            self._owner = os.open(self._lock_file(self._spill), os.O_RDWR | os.O_CREAT, 0o600)
            # Held already: by another log of this process on the same file (tests), which is as alive.
            with contextlib.suppress(BlockingIOError):
                fcntl.flock(self._owner, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _adopt_orphans(self) -> None:
        """Append the spill files of processes that are gone to this one's, then delete them."""
        for path in sorted(self._spill.parent.iterdir()):
            found = _SPILL_FILE.fullmatch(path.name)
            if found is None or path in (self._spill, self._replaying):
                continue
            lock = self._lock_file(self._spill.with_name(f"decisions.{found[1]}.jsonl")) if found[1] else None
            with _orphaned(lock) as orphan:
                if orphan:
                    self._adopt(path)

    def _adopt(self, path: Path) -> None:
        with self._spill_lock:
            try:
                lines = path.read_text(encoding="utf8")
            except FileNotFoundError:
                return  # another process adopted it first
            if lines.strip():
                with open_private_append(self._spill) as out:
                    out.write(lines if lines.endswith("\n") else lines + "\n")
            path.unlink(missing_ok=True)
        log.info("decision log: adopted the spill file %s of a process that is gone", path.name)

    def _write_spill(self, records: list[DecisionRecord]) -> None:
        lines = "".join(
            to_json(scrubbed(r)) + "\n" for r in records
        )  # idempotent: a batch that failed is scrubbed twice
        with self._spill_lock:
            self._spill.parent.mkdir(parents=True, exist_ok=True)
            self._own_spill()  # before the file exists: no other process may take it for an orphan's
            with open_private_append(self._spill) as out:
                out.write(lines)
                out.flush()
            self.spilled += len(records)

    def _replay(self) -> None:
        """Move the spill file aside (appends then start a new one) and write its records in batches."""
        # One replayer at a time: the writer thread, or close() once the writer has stopped or timed out.
        with self._replay_lock:
            with self._spill_lock:
                if not self._replaying.exists():
                    if not self._spill.exists() or self._spill.stat().st_size == 0:
                        return
                    os.replace(self._spill, self._replaying)
            for batch in _batches(self._read_replaying(), self._batch_size):
                if not self._replay_batch(batch):
                    return  # the store is failing: the file stays and is replayed next time
            self._replaying.unlink(missing_ok=True)

    def _read_replaying(self) -> Iterator[DecisionRecord]:
        with self._replaying.open(encoding="utf8") as lines:
            for line in lines:
                if line.strip():
                    yield from_json(line)

    def _replay_batch(self, batch: list[DecisionRecord]) -> bool:
        batch = [scrubbed(r) for r in batch]  # a spill file an older version wrote may hold PII
        try:
            self._sink.append(batch)
            return True
        except Exception:
            # One bad record fails its whole batch: find it by writing the batch one by one.
            return self._replay_one_by_one(batch)

    def _replay_one_by_one(self, batch: list[DecisionRecord]) -> bool:
        for record in batch:
            try:
                self._sink.append([record])
            except (IntegrityError, DataError) as exc:
                # This record can never be written as it is. A duplicate was stored by a replay interrupted
                # before it removed its file: drop it. Anything else is set aside for a person, not retried.
                if not _duplicate(exc):
                    self._reject(record, exc)
            except Exception as exc:
                log.warning("decision log: replay failed (%s); will retry", _short(exc))
                return False
        return True

    def _reject(self, record: DecisionRecord, exc: Exception) -> None:
        log.error("decision log: decision %s refused by the store (%s)", record.id, _short(exc))
        with open_private_append(self._rejected) as out:
            out.write(to_json(record) + "\n")


@contextlib.contextmanager
def _orphaned(lock: Path | None) -> Iterator[bool]:
    """Whether the owner of a spill file is gone, holding its lock meanwhile; an older version's file (no
    lock) counts as gone."""
    if lock is None:
        yield True
        return
    try:
        fd = os.open(lock, os.O_RDWR)
    except FileNotFoundError:
        yield True  # the owner closed cleanly, or never locked: its file is nobody's
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False  # its process is alive
            return
        yield True
        lock.unlink(missing_ok=True)
    finally:
        os.close(fd)


def _duplicate(exc: Exception) -> bool:
    text = str(exc).lower()
    return "unique" in text or "duplicate" in text


def _short(exc: Exception) -> str:
    """The first line of an error: a failed batch must not log all of its 500 parameter sets."""
    lines = str(exc).splitlines()
    return f"{type(exc).__name__}: {lines[0][:300] if lines else ''}"


def _batches(records: Iterable[DecisionRecord], size: int) -> Iterator[list[DecisionRecord]]:
    batch: list[DecisionRecord] = []
    for record in records:
        batch.append(record)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
