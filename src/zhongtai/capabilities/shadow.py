"""Shadow scoring off the response path: a bounded queue and one worker thread.

The gateway hands every request of a capability with shadows to `ShadowScorer.submit` after its answer is
built; the worker scores the shadows and hands their records to the decision log, each pointing at the
answer it was scored beside (`shadow_of`). When the worker falls behind, the queue is full and new work is
dropped and counted: shadows are a sample by nature, and the answers must not wait for them.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from zhongtai.capabilities.arms import ArmedRuntime
    from zhongtai.capabilities.decision_log import DecisionLog

log = logging.getLogger(__name__)

_Work = tuple["ArmedRuntime", Mapping[str, Any], str, str]  # runtime, inputs, answered decision id, principal


class ShadowScorer:
    """Scores shadow arms in a daemon thread; `submit` never blocks."""

    def __init__(self, decisions: DecisionLog, maxsize: int = 1024) -> None:
        self._decisions = decisions
        self._queue: queue.Queue[_Work | None] = queue.Queue(maxsize=maxsize)
        self._thread = threading.Thread(target=self._run, name="zhongtai-shadow", daemon=True)
        self.scored = 0
        self.dropped = 0

    def start(self) -> ShadowScorer:
        """Start the worker."""
        self._thread.start()
        return self

    def submit(self, runtime: ArmedRuntime, inputs: Mapping[str, Any], answered: str, principal: str) -> None:
        """Queue the shadows of one answered request; dropped (and counted) when the worker is behind."""
        try:
            self._queue.put_nowait((runtime, inputs, answered, principal))
        except queue.Full:
            self.dropped += 1

    def close(self, timeout: float = 5.0) -> None:
        """Finish what is queued (within `timeout`), then stop."""
        try:
            self._queue.put(None, timeout=timeout)
        except queue.Full:
            return
        self._thread.join(timeout=timeout)

    def _run(self) -> None:
        while (work := self._queue.get()) is not None:
            runtime, inputs, answered, principal = work
            try:
                self._score(runtime, inputs, answered, principal)
            except Exception:
                log.exception("shadow scoring of %s failed", runtime.name)

    def _score(self, runtime: ArmedRuntime, inputs: Mapping[str, Any], answered: str, principal: str) -> None:
        started = time.perf_counter()
        for decision in runtime.shadow(inputs):
            latency = (time.perf_counter() - started) * 1000
            self._decisions.submit(decision.to_record(principal, inputs, latency, shadow_of=answered))
            self.scored += 1
