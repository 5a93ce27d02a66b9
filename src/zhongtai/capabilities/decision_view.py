"""A logged decision as one reader may see it: the one rendering the gateway's `GET /v1/decisions` and
`zhongtai decisions` share.

What a decision shows is masked for the reader, not for the caller who made it: text in its inputs and
output (already scrubbed of recognized PII when written, docs/pii.md) and its feature values are masked span
by span for every PII class the reader may not `see_pii` on the capability (govern/masking.py). Its
explanation — the feature values the model was given, and a process node's reasons — is rendered only for a
reader the policy lets `see_explanation` on the capability; for anyone else the key is absent, not emptied.
"""

from __future__ import annotations

from typing import Any

from zhongtai.govern.masking import disclosure, mask_json
from zhongtai.govern.policy import PolicyEngine
from zhongtai.govern.principal import Principal
from zhongtai.meta.records import DecisionRecord

KIND = "capabilities"


def decision_view(record: DecisionRecord, engine: PolicyEngine, principal: Principal) -> dict[str, Any]:
    """The record as `principal` may see it: masked, with its explanation only when allowed."""
    seen = disclosure(engine, principal, record.capability, KIND)
    body: dict[str, Any] = {
        "id": record.id,
        "at": record.at.isoformat(),
        "capability": record.capability,
        "principal": record.principal,
        "model": {"name": record.model_name, "version": record.model_version},
        "decision": record.decision,
        "score": record.score,
        "fallback": record.fallback,
        "arm": record.arm,
        "shadow_of": record.shadow_of,
        "latency_ms": record.latency_ms,
        "inputs": mask_json(record.inputs, seen),
        "output": mask_json(record.output, seen),
    }
    if record.fallback_reason is not None:
        body["fallback_reason"] = record.fallback_reason
    if engine.check(principal, "see_explanation", record.capability, KIND).allowed:
        body["explanation"] = {"features": mask_json(record.features, seen)}
    elif isinstance(node := (body["output"] or {}).get("node"), dict) and "reasons" in node:
        # A node's reasons name the factors and their contributions: the explanation by other words.
        body["output"] = {**body["output"], "node": {k: v for k, v in node.items() if k != "reasons"}}
    return body
