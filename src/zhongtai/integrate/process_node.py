"""The process-engine decision node: one contract for BPMN engines and RPA bots.

A job carries a job key (the engine's id of the task instance) and a business key (the order, the claim).
The answer carries the outcome the process branches on (AUTO_APPROVE, AUTO_REJECT, HUMAN_REVIEW... by the
capability's `process` score bands), a confidence, the reasons (the top factors in words), the model version,
the deadline and whether a fallback answered. Engines deliver at least once (a worker that times out gets
the job again): the decision id is derived from the capability and the job key, and the record is written
before the answer leaves, so a redelivered job gets the logged answer again and the log holds it once.
The reviewer's verdict of a HUMAN_REVIEW case comes back as feedback for the same decision id.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from zhongtai.capabilities.decision_log import scrubbed
from zhongtai.meta.records import DecisionRecord
from zhongtai.meta.review import REVIEW_ROUTE as HUMAN_REVIEW
from zhongtai.meta.time import now
from zhongtai.spec.base import duration_seconds
from zhongtai.spec.process import ProcessSpec

if TYPE_CHECKING:
    from zhongtai.capabilities.runtime import Decision, Runtime
    from zhongtai.meta.store import MetadataStore

_NAMESPACE = uuid.UUID("0b6f8f1e-5f5c-4c0a-8a43-6d3f0e7b9a12")
DEFAULT = ProcessSpec()


def job_decision_id(capability: str, job_key: str) -> str:
    """The decision id a job always gets."""
    return str(uuid.uuid5(_NAMESPACE, f"{capability}\x00{job_key}"))


def confidence_of(decision: Decision) -> float | None:
    """How sure the answer is: a task's own confidence, or for a probability the distance from a coin toss
    (max(p, 1 - p))."""
    if decision.output and isinstance(decision.output.get("confidence"), int | float):
        return float(decision.output["confidence"])
    if decision.score is None or not 0 <= decision.score <= 1:
        return None
    return max(decision.score, 1 - decision.score)


def outcome_of(process: ProcessSpec, decision: DecisionRecord | Decision, confidence: float | None) -> str:
    """The outcome: review for a fallback or a low confidence, else the first band the score reaches, else
    the decision in capitals."""
    if decision.fallback or (confidence is not None and confidence < process.min_confidence):
        return process.review_outcome
    if process.outcomes and decision.score is not None:
        for band in sorted(process.outcomes, key=lambda b: b.min_score, reverse=True):
            if decision.score >= band.min_score:
                return band.outcome
        return process.review_outcome
    return decision.decision.upper().replace("-", "_")


def _reasons(factors: list[dict[str, Any]]) -> list[str]:
    return [
        f"{f['feature']} {'raised' if f['contribution'] > 0 else 'lowered'} the score by {abs(f['contribution']):.3f}"
        for f in factors
    ]


def answer_job(
    store: MetadataStore,
    runtime: Runtime,
    job_key: str,
    business_key: str,
    inputs: Mapping[str, Any],
    principal: str,
) -> dict[str, Any]:
    """Answer one job (blocking: it reads and writes the decision log); a job seen before gets its logged
    answer again, with `repeated: true`."""
    process = runtime.spec.process or DEFAULT
    wanted = job_decision_id(runtime.name, job_key)
    started = now()
    # Decided before the log is asked, though a job seen before discards it: inputs the capability refuses
    # are refused on every attempt, never answered with an earlier job's answer.
    decision = replace(runtime.decide(inputs), decision_id=wanted)
    (logged,) = store.decisions.by_ids([wanted]) or (None,)
    if logged is not None:
        node = (logged.output or {}).get("node", {})
        return _answer(process, logged, job_key, node.get("business_key", business_key), node, True)
    confidence = confidence_of(decision)
    review = outcome_of(process, decision, confidence) == process.review_outcome
    node = {
        "business_key": business_key,
        "route": HUMAN_REVIEW if review else "auto",  # what makes it a review item (meta/review.py)
        "reasons": _reasons(decision.factors),
        "confidence": confidence,
        "deadline": (started + timedelta(seconds=duration_seconds(process.deadline))).isoformat(),
        "fallback_reason": decision.fallback_reason,
    }
    latency = (now() - started).total_seconds() * 1000
    record = decision.to_record(
        principal,
        {**inputs, "job_key": job_key},
        latency,
        at=started,
        output={**(decision.output or {}), "node": node},
    )
    store.decisions.append([scrubbed(record)])
    return _answer(process, record, job_key, business_key, node, False)


def _answer(
    process: ProcessSpec,
    record: DecisionRecord,
    job_key: str,
    business_key: str,
    node: dict[str, Any],
    repeated: bool,
) -> dict[str, Any]:
    confidence = node.get("confidence")
    return {
        "job_key": job_key,
        "business_key": business_key,
        "decision_id": record.id,
        "capability": record.capability,
        "outcome": outcome_of(process, record, confidence),
        "decision": record.decision,
        "score": record.score,
        "confidence": confidence,
        "reasons": node.get("reasons", []),
        "model": {"name": record.model_name, "version": record.model_version},
        "arm": record.arm,
        "deadline": node.get("deadline"),
        "fallback": record.fallback,
        "fallback_reason": node.get("fallback_reason"),
        "repeated": repeated,
    }
