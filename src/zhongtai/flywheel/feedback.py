"""Feedback: what happened after a decision (clicked, bought, churned, resolved, a reviewer's verdict).

Outcomes are accepted for logged decisions only, whatever their age (late feedback is normal: churn is known
months later). A decision takes one outcome of each kind: sending the same outcome again is acknowledged as
a duplicate and changes nothing, sending a different one for the same kind is a conflict, so retries are safe
and a verdict cannot be silently overwritten.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, get_args

from zhongtai.errors import ZhongtaiError
from zhongtai.govern.redaction import scrub_text

if TYPE_CHECKING:
    from zhongtai.meta.feedback import Feedback
    from zhongtai.meta.store import MetadataStore

FeedbackKind = Literal["clicked", "bought", "churned", "resolved", "verdict", "label"]
KINDS: tuple[str, ...] = get_args(FeedbackKind)
MAX_TEXT = 200


def record_feedback(
    store: MetadataStore, decision_id: str, kind: str, value: Any, principal: str, comment: str = ""
) -> tuple[Feedback, bool]:
    """Record an outcome of a logged decision; returns it and whether it is new (False: a duplicate)."""
    if kind not in KINDS:
        raise ZhongtaiError("invalid_argument", f"feedback kind {kind!r} is not one of {', '.join(KINDS)}")
    if not (isinstance(value, bool | int | float) or (isinstance(value, str) and 0 < len(value) <= MAX_TEXT)):
        raise ZhongtaiError(
            "invalid_argument",
            "feedback value must be a boolean, a number or a text of 1 to 200 characters",
            'e.g. {"kind": "churned", "value": true} or {"kind": "verdict", "value": "approve"}',
        )
    (logged,) = store.decisions.by_ids([decision_id]) or (None,)
    if logged is None:
        raise ZhongtaiError(
            "not_found",
            f"decision {decision_id} is not in the decision log",
            "feedback is taken for logged decisions; a decision is logged within a second of its answer",
        )
    if logged.shadow_of is not None:
        raise ZhongtaiError(
            "invalid_argument", f"decision {decision_id} is a shadow's: it was never answered"
        )
    # The comment is kept as the decision log keeps inputs: with the phones, e-mails, ID and card numbers
    # the recognizers find in it replaced by their kind (govern/redaction.py).
    comment = scrub_text(comment) if comment else comment
    found, new = store.feedback.add(decision_id, logged.capability, kind, value, principal, comment)
    if not new and found.value != value:
        raise ZhongtaiError(
            "conflict",
            f"decision {decision_id} already has {kind} feedback with another value (from {found.principal})",
            "one outcome per kind: send a different kind, or correct it as a new decision",
        )
    return found, new
