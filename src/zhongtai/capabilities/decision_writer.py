"""The decision log's writer in a process of its own: the gateway only buffers and sends.

Writing a decision costs about 110 µs of CPU (scrubbing, the JSON columns, its audit digest, the insert).
In the gateway's process that runs under the one GIL the event loop needs, and it took a sixth of a worker's
throughput, a third with a shadow arm (two records a request): measured under wrk on one worker, two cores,
1,747 decisions/s with a shadow on when nothing was written against 1,215 with the writer thread.

So by default (ZT_DECISION_WRITER=process) every gateway process starts a writer process beside it:

- `submit` appends the record to a list: the request path does nothing more.
- A sender thread wakes every `interval_s` (50 ms), turns what gathered into JSON lines (the spill file's
  format, decision_log.py) and sends them down a pipe as one message.
- The writer process hands every line to an ordinary `DecisionLog` of its own (bounded queue, batches, the
  spill file when the store fails, replay, adoption of dead processes' spill files), so every guarantee of
  that log holds there. It ignores SIGINT and SIGTERM (a Ctrl-C reaches the whole process group) and stops
  when its pipe closes, so it never stops before the gateway has sent it everything; a gateway that is killed
  closes the pipe too.
- `close` sends what is left, closes the pipe and waits for the writer to write or spill all it holds.
- A writer that dies (killed, out of memory) is noticed by the sender (the pipe breaks, or the process has
  exited), one that cannot start at once: a warning is logged and from then on this process writes through
  an in-process `DecisionLog`. What the dead writer had received and not yet written is lost with it, as a
  killed gateway loses what its queue held; a spill file it left is adopted by the next log to start.

ZT_DECISION_WRITER=thread keeps the writer as a thread of the gateway's process (no extra process).
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import threading
from multiprocessing.connection import Connection
from multiprocessing.util import Finalize
from pathlib import Path
from typing import TYPE_CHECKING

from zhongtai.capabilities.decision_log import DecisionLog, from_json, spill_path, to_json
from zhongtai.config import Settings
from zhongtai.meta.records import DecisionRecord

if TYPE_CHECKING:
    from zhongtai.meta.store import MetadataStore

log = logging.getLogger(__name__)
_STOPS = {signal.SIGINT, signal.SIGTERM}
_JOIN_S = 60.0  # how long close waits for the writer to write (or spill) what it holds


class DecisionWriter:
    """The gateway's side of the writer process: `submit`, `pending`, `start`, `close` as `DecisionLog`'s."""

    def __init__(self, settings: Settings, interval_s: float = 0.05) -> None:
        self._settings = settings
        self._interval_s = interval_s
        self._buffer: list[DecisionRecord] = []
        self._stop = threading.Event()
        self._sender: threading.Thread | None = None
        self._process: multiprocessing.process.BaseProcess | None = None
        self._pipe: Connection | None = None
        self._fallback: DecisionLog | None = None  # the in-process log once the writer is gone
        self._fallback_store: MetadataStore | None = None

    def start(self) -> DecisionWriter:
        """Start the writer process and the sender thread."""
        # spawn, not fork: the gateway has threads (and a loaded model) a fork would copy mid-flight.
        context = multiprocessing.get_context("spawn")
        receiving, sending = context.Pipe(duplex=False)
        self._process = context.Process(
            target=_write_decisions, args=(receiving, self._settings), name="zt-decision-writer", daemon=False
        )
        # The writer ignores SIGINT and SIGTERM, but only once its imports are done: started with both
        # blocked (the mask survives the exec), one sent to the process group meanwhile cannot kill it.
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, _STOPS)
        try:
            self._process.start()
        except OSError as exc:  # no process to be had here (limits, a sandbox): the gateway still serves
            self._process = None
            sending.close()
            self._fail_over(f"the writer process could not start ({type(exc).__name__})")
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
            receiving.close()  # the writer's end lives in the writer: its EOF is this end closing
        if self._process is not None:
            self._pipe = sending
            # A process that exits without close() joins its children first: the writer must see its pipe
            # end before that join, or both wait for ever.
            Finalize(self, sending.close, exitpriority=10)
        self._sender = threading.Thread(target=self._run, name="zt-decision-sender", daemon=True)
        self._sender.start()
        return self

    def submit(self, record: DecisionRecord) -> None:
        """Hand a decision over without waiting."""
        self._buffer.append(record)

    def pending(self) -> int:
        """Decisions not yet sent to the writer (for metrics)."""
        return len(self._buffer) + (self._fallback.pending() if self._fallback is not None else 0)

    @property
    def writer_pid(self) -> int | None:
        """The writer process's id while it serves this gateway (None once it is gone)."""
        if self._fallback is not None or self._process is None:
            return None
        return self._process.pid

    def close(self) -> None:
        """Send what is left, close the pipe, and wait for the writer to write or spill everything."""
        self._stop.set()
        if self._sender is not None:
            self._sender.join()
            self._sender = None
        if self._pipe is not None:
            self._pipe.close()
            self._pipe = None
        if self._process is not None:
            self._process.join(_JOIN_S)
            if self._process.is_alive():
                log.warning(
                    "decision writer %s still writing after %.0f s; left running", self._process.pid, _JOIN_S
                )
            self._process = None
        if self._fallback is not None:
            self._fallback.close()
        if self._fallback_store is not None:
            self._fallback_store.close()

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            self._send_or_keep()
        self._send_or_keep()

    def _send_or_keep(self) -> None:
        # Swapped, not copied: a submit racing the swap appends to one list or the other, never to neither.
        records, self._buffer = self._buffer, []
        try:
            self._send(records)
        except Exception:  # not the pipe's failure (that fails over): keep them for the next turn
            log.exception("decision log: could not hand %d decisions to the writer; retrying", len(records))
            self._buffer[:0] = records

    def _send(self, records: list[DecisionRecord]) -> None:
        if self._fallback is None and self._process is not None and not self._process.is_alive():
            self._fail_over(f"the writer process exited with code {self._process.exitcode}")
        if not records:
            return
        if self._fallback is None:
            assert self._pipe is not None
            try:
                self._pipe.send_bytes("".join(to_json(r) + "\n" for r in records).encode())
                return
            except (OSError, ValueError) as exc:
                self._fail_over(f"the pipe to the writer failed ({type(exc).__name__})")
        assert self._fallback is not None
        for record in records:
            self._fallback.submit(record)

    def _fail_over(self, why: str) -> None:
        from zhongtai.meta.store import MetadataStore

        log.warning("decision log: %s; writing in this process from now on", why)
        self._fallback_store = MetadataStore.from_settings(self._settings)
        self._fallback = DecisionLog(self._fallback_store.decisions, spill_path(self._settings.home)).start()


def _write_decisions(pipe: Connection, settings: Settings) -> None:
    """The writer process: every record received goes to a `DecisionLog`; the pipe's end ends it."""
    from zhongtai.meta.store import MetadataStore

    for stop in _STOPS:
        signal.signal(stop, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOPS)  # what arrived while blocked is now ignored
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    store = MetadataStore.from_settings(settings)
    decisions = DecisionLog(store.decisions, spill_path(Path(settings.home))).start()
    try:
        while True:
            try:
                data = pipe.recv_bytes()
            except EOFError:
                break
            for line in data.decode("utf-8").splitlines():
                decisions.submit(from_json(line))
    finally:
        decisions.close()
        store.close()
