"""Stream mode: a capability answers requests that arrive on a bus stream and publishes its decisions to another.

Each request event carries a `request_id` and the capability's inputs (under `inputs`, or beside the id).
The bus delivers at least once, so the same request may come twice; its answer must not change and the
decision log must hold it once. The decision id is derived from the capability and the request id, and a
batch is handled as: look up which of its decisions are logged already → decide the others → write their
records to the decision store (committed) → publish every answer → ack. A crash anywhere in between
redelivers the batch, and the requests whose records were committed get their logged answer again instead
of a new one. A request that cannot be answered (no request id, bad inputs) gets an error event on the
decisions stream, named by its position and the problem, never its values.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from zhongtai.capabilities.decision_log import scrubbed
from zhongtai.errors import ZhongtaiError
from zhongtai.meta.records import DecisionRecord

if TYPE_CHECKING:
    from zhongtai.capabilities.serving import Capabilities
    from zhongtai.connect.streams.base import Delivery, EventBus
    from zhongtai.meta.store import MetadataStore

log = logging.getLogger(__name__)

# Decision ids of stream requests: uuid5 in this namespace of "capability NUL request id".
_NAMESPACE = uuid.UUID("6f1c2a52-8d0e-4d5c-9a63-2b7a1f0c9e41")
MAX_REQUEST_ID = 128


@dataclass
class StreamStats:
    """What a stream consumer has done since it started."""

    answered: int = 0
    repeated: int = 0  # redelivered requests answered from the log
    refused: int = 0


def decision_id(capability: str, request_id: str) -> str:
    """The decision id a stream request always gets."""
    return str(uuid.uuid5(_NAMESPACE, f"{capability}\x00{request_id}"))


class StreamDecider:
    """Consumes one capability's request stream and publishes its decisions, at least once, idempotently."""

    def __init__(
        self,
        capability: str,
        capabilities: Capabilities,
        store: MetadataStore,
        bus: EventBus,
        requests: str,
        decisions: str,
        group: str,
        consumer: str,
        principal: str = "stream",
        batch: int = 200,
    ) -> None:
        self.capability = capability
        self._capabilities = capabilities
        self._store = store
        self._bus = bus
        self._requests = requests
        self._decisions = decisions
        self._group = group
        self._consumer = consumer
        self._principal = principal
        self._batch = batch
        self.stats = StreamStats()

    def run(self, stop: threading.Event, wait_s: float = 1.0) -> None:
        """Answer batches until `stop` is set; a failing batch is retried (it was not acked)."""
        while not stop.is_set():
            try:
                self.step(wait_s)
            except Exception:
                log.exception("stream decisions of %s: a batch failed; it is redelivered", self.capability)
                stop.wait(1.0)

    def step(self, wait_s: float = 1.0) -> int:
        """One batch: consume, answer, log, publish, ack. Returns how many requests it handled."""
        deliveries = self._bus.consume(self._requests, self._group, self._consumer, self._batch, wait_s)
        if not deliveries:
            return 0
        self._bus.publish(self._decisions, self._answer(deliveries))
        self._bus.ack(self._requests, self._group, deliveries)
        return len(deliveries)

    def _answer(self, deliveries: list[Delivery]) -> list[dict[str, Any]]:
        runtime = self._capabilities.get(self.capability)
        parsed = [_request(d.event, i) for i, d in enumerate(deliveries)]
        ids = {decision_id(self.capability, rid) for rid, _, _ in parsed if rid is not None}
        logged = {r.id: r for r in self._store.decisions.by_ids(sorted(ids))}
        answers: list[dict[str, Any]] = []
        records: dict[str, DecisionRecord] = {}
        for request_id, inputs, problem in parsed:
            if problem is not None or request_id is None or inputs is None:
                self.stats.refused += 1
                answers.append({"request_id": request_id, "capability": self.capability, "error": problem})
                continue
            wanted = decision_id(self.capability, request_id)
            known = logged.get(wanted) or records.get(wanted)
            if known is not None:
                self.stats.repeated += 1
                answers.append({"request_id": request_id, **_answer_of(known), "repeated": True})
                continue
            started = time.perf_counter()
            try:
                decision = replace(runtime.decide(inputs), decision_id=wanted)
            except ZhongtaiError as exc:
                self.stats.refused += 1
                answers.append(
                    {"request_id": request_id, "capability": self.capability, "error": exc.to_dict()}
                )
                continue
            latency = (time.perf_counter() - started) * 1000
            records[wanted] = decision.to_record(self._principal, inputs, latency)
            self.stats.answered += 1
            answers.append({"request_id": request_id, **decision.to_dict()})
        # Committed before anything is published or acked: a redelivery finds these and repeats them.
        self._store.decisions.append([scrubbed(r) for r in records.values()])
        return answers


def _request(
    event: Mapping[str, Any], position: int
) -> tuple[str | None, dict[str, Any] | None, dict[str, str] | None]:
    """(request id, inputs, problem) of one request event."""
    request_id = event.get("request_id")
    if not isinstance(request_id, str | int) or isinstance(request_id, bool) or not str(request_id).strip():
        return None, None, _problem(f"request {position} of the batch has no request_id (a string or number)")
    request_id = str(request_id)
    if len(request_id) > MAX_REQUEST_ID:
        return None, None, _problem(f"request {position}: request_id longer than {MAX_REQUEST_ID} characters")
    inputs = event.get("inputs", {k: v for k, v in event.items() if k != "request_id"})
    if not isinstance(inputs, dict):
        return request_id, None, _problem(f"request {position}: inputs must be a JSON object")
    return request_id, inputs, None


def _problem(message: str) -> dict[str, str]:
    return {"code": "invalid_argument", "message": message}


def _answer_of(record: DecisionRecord) -> dict[str, Any]:
    """The answer a logged decision gave, in the shape of `Decision.to_dict()` (without factors: the log
    keeps feature values, not contributions)."""
    answer: dict[str, Any] = {
        "decision_id": record.id,
        "capability": record.capability,
        "decision": record.decision,
        "score": record.score,
        "model": {"name": record.model_name, "version": record.model_version},
        "fallback": record.fallback,
    }
    if record.arm is not None:
        answer["arm"] = record.arm
    if record.output:
        answer.update(record.output)
    return answer
