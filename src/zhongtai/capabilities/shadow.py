"""Shadow scoring off the response path: on the gateway's event loop, between requests, one at a time.

The gateway hands every request of a capability with shadows to `ShadowScorer.submit` once its answer is
built; the answer is sent before the scorer runs. The scorer's task scores the queued requests' shadows in
turn, in slices of at most a millisecond between which the loop serves the requests that arrived, so a
request waits at most about a millisecond for shadows (each a plain predict without contributions, tens of
microseconds), and hands their records to the decision log,
each pointing at the answer it was scored beside (`shadow_of`). When the scorer falls behind (the gateway is
saturated), the queue is full and new work is dropped and counted: shadows are a sample by nature, and the
answers must not wait for them.

Why on the loop and not in a thread of its own: a thread shares the one GIL with the loop and takes it back
at every SQLite read and LightGBM call either side makes; the hand-overs cost more than the scoring. Measured
under wrk on one worker (two cores): a shadow on every request took the gateway from 1,781 to 858
decisions/s with a thread, and costs only its own scoring on the loop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from zhongtai.capabilities.arms import ArmedRuntime
    from zhongtai.capabilities.decision_log import DecisionHandOff

log = logging.getLogger(__name__)

# Shadows scored per turn of the loop: up to this long, then the requests waiting meanwhile go first. One
# shadow a turn fell behind a saturated loop (which serves every ready request each turn) and dropped four in
# five; a millisecond keeps up with eight connections while no request waits longer for shadows.
_SLICE_S = 0.001
_Work = tuple["ArmedRuntime", Mapping[str, Any], str, str]  # runtime, inputs, answered decision id, principal


class ShadowScorer:
    """Scores shadow arms in a task on the event loop; `submit` (on the loop) never waits."""

    def __init__(self, decisions: DecisionHandOff, maxsize: int = 1024) -> None:
        self._decisions = decisions
        self._maxsize = maxsize
        self._pending: deque[_Work] = deque()
        self._task: asyncio.Task[None] | None = None
        self.scored = 0
        self.dropped = 0

    def submit(self, runtime: ArmedRuntime, inputs: Mapping[str, Any], answered: str, principal: str) -> None:
        """Queue the shadows of one answered request; dropped (and counted) when the scorer is behind.
        Called on the event loop, which then runs the scorer."""
        if len(self._pending) >= self._maxsize:
            self.dropped += 1
            return
        self._pending.append((runtime, inputs, answered, principal))
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._drain(), name="zt-shadow-scorer")

    async def aclose(self, timeout: float = 5.0) -> None:
        """Finish what is queued (within `timeout`); what is left then is dropped and counted."""
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), timeout)
            except TimeoutError:
                self._task.cancel()
        self.dropped += len(self._pending)
        self._pending.clear()

    async def _drain(self) -> None:
        try:
            while self._pending:
                await asyncio.sleep(0)  # requests that are waiting go first
                ends = time.perf_counter() + _SLICE_S
                while self._pending and time.perf_counter() < ends:
                    runtime, inputs, answered, principal = self._pending.popleft()
                    try:
                        await self._score(runtime, inputs, answered, principal)
                    except Exception:
                        log.exception("shadow scoring of %s failed", runtime.name)
        finally:
            self._task = None

    async def _score(
        self, runtime: ArmedRuntime, inputs: Mapping[str, Any], answered: str, principal: str
    ) -> None:
        started = time.perf_counter()
        for decision in await runtime.shadow_async(inputs):
            latency = (time.perf_counter() - started) * 1000
            self._decisions.submit(decision.to_record(principal, inputs, latency, shadow_of=answered))
            self.scored += 1
