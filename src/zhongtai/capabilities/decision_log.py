"""The decision log: decisions leave the hot path through a bounded queue and are written in batches.

A request only ever does `put_nowait`; when the queue is full (the database is slow or down) the record is
appended to a local spill file instead. One writer thread drains the queue in batches and, whenever it has
caught up, replays the spill file. On close everything still queued is written (or spilled): nothing blocks
a request, nothing is lost. The sink writes each batch with one audit record holding every decision's id
and digest (govern/audit.py), in the batch's transaction: the hash chain covers decisions off the request path.

No PII is kept that callers put in a decision's inputs (or that a feature value quotes): before a record is
written, spilled or set aside, every string in its inputs and features is scrubbed with the recognizers
(govern/redaction.py: `手机13912345678` becomes `手机[phone]`; keys and structure stay). That runs in the
writer thread, off the request path, except when a full queue makes the request spill itself. The spill
files are created 0600 (govern/private_files.py).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import queue
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


class DecisionSink(Protocol):
    """Where batches go: `MetadataStore.decisions` in production."""

    def append(self, decisions: Iterable[DecisionRecord]) -> int: ...


def spill_path(home: Path) -> Path:
    """The spill file of a Zhongtai home."""
    return home / "spill" / "decisions.jsonl"


def _to_json(record: DecisionRecord) -> str:
    body = dict(record.__dict__)
    body["at"] = record.at.isoformat()
    return json.dumps(body, ensure_ascii=False, default=str)


def scrubbed(record: DecisionRecord) -> DecisionRecord:
    """The record with the PII in its inputs, features and output replaced by kind markers (a new record)."""
    return dataclasses.replace(
        record, inputs=scrub(record.inputs), features=scrub(record.features), output=scrub(record.output)
    )


def _from_json(line: str) -> DecisionRecord:
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
    ) -> None:
        self._sink = sink
        self._spill = spill
        self._replaying = spill.with_suffix(".replaying")
        self._queue: queue.Queue[DecisionRecord] = queue.Queue(maxsize=maxsize)
        self._batch_size = batch_size
        self._interval_s = interval_s
        self._rejected = spill.with_name(spill.stem + ".rejected.jsonl")
        self._spill_lock = threading.Lock()
        self._replay_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.spilled = 0  # records that went to the spill file (a figure for metrics and tests)

    def start(self) -> DecisionLog:
        """Start the writer thread (replaying any spill a previous process left behind first)."""
        self._spill.parent.mkdir(parents=True, exist_ok=True)
        self._thread = threading.Thread(target=self._run, name="zt-decision-log", daemon=True)
        self._thread.start()
        return self

    def submit(self, record: DecisionRecord) -> None:
        """Hand a decision over without waiting: to the queue, or to the spill file when the queue is full."""
        try:
            self._queue.put_nowait(record)
        except queue.Full:
            self._write_spill([record])

    def pending(self) -> int:
        """Decisions waiting in the queue (for metrics)."""
        return self._queue.qsize()

    def close(self, timeout_s: float = 10.0) -> None:
        """Stop the writer and write everything still queued or spilled."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None
        self._drain_all()

    # -- the writer ----------------------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            batch = self._take(self._interval_s)
            if batch:
                self._write(batch)
            if self._queue.empty():
                self._replay()

    def _take(self, wait_s: float) -> list[DecisionRecord]:
        """Up to one batch: wait briefly for the first record, then take what is already there."""
        try:
            batch = [self._queue.get(timeout=wait_s)] if wait_s > 0 else [self._queue.get_nowait()]
        except queue.Empty:
            return []
        while len(batch) < self._batch_size:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
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

    def _write_spill(self, records: list[DecisionRecord]) -> None:
        lines = "".join(
            _to_json(scrubbed(r)) + "\n" for r in records
        )  # idempotent: a batch that failed is scrubbed twice
        with self._spill_lock:
            self._spill.parent.mkdir(parents=True, exist_ok=True)
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
                    yield _from_json(line)

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
            out.write(_to_json(record) + "\n")


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
