"""A decision's full trace, as one reader may see it: the logged decision (capabilities/decision_view.py:
masked by `see_pii`, its explanation only with `see_explanation`), the feedback it received, its review item,
and the audit record that logged it, with whether the row still matches the digest recorded there.

The digest check is of this one row against its batch's record; whether the record itself is intact within the
chain is `zhongtai audit verify`'s question, answered for the whole log.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from zhongtai.capabilities.decision_view import KIND, decision_view
from zhongtai.govern.audit import decision_digest
from zhongtai.govern.masking import disclosure, mask_json
from zhongtai.meta.records import DecisionRecord
from zhongtai.meta.time import now

if TYPE_CHECKING:
    from zhongtai.govern.audit import AuditRecord
    from zhongtai.govern.policy import PolicyEngine
    from zhongtai.govern.principal import Principal
    from zhongtai.meta.store import MetadataStore


def decision_trace(
    store: MetadataStore, record: DecisionRecord, engine: PolicyEngine, principal: Principal
) -> dict[str, Any]:
    """The decision with its feedback (comments masked), review item and audit record, for `principal`."""
    seen = disclosure(engine, principal, record.capability, KIND)
    feedback = [mask_json(f.to_dict(), seen) for f in store.feedback.of_decision(record.id)]
    item = store.review.get(record.id)
    review = None
    if item is not None:
        review = {**item.to_dict(), "overdue": item.overdue(now())}
        review["value"] = mask_json(review["value"], seen)
    return {
        "decision": decision_view(record, engine, principal),
        "feedback": feedback,
        "review": review,
        "audit": _audit(store.decisions.audit_record(record), record),
    }


def _audit(found: AuditRecord | None, record: DecisionRecord) -> dict[str, Any] | None:
    if found is None:
        return None
    body = found.parsed_body() or {}
    recorded = dict((pair[0], pair[1]) for pair in body.get("decisions", []) if len(pair) == 2)
    digest = recorded.get(record.id)
    # Only what identifies the record: the body names the batch's other decisions, not this reader's concern.
    return {
        "seq": found.seq,
        "at": found.at,
        "principal": found.principal,
        "rule": found.rule,
        "hash": found.hash,
        "digest": digest,
        "matches": digest is not None and digest == decision_digest(record),
    }
