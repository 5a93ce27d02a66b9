"""The review queue: decisions routed to a person, worked by reviewers, their verdicts fed back as labels.

Items are made when the decision is logged (meta/review.py); this module is what the gateway and the CLI
share: a reviewer's view of an item with its decision's explanation, masked by what the reader may see; the
checks on a verdict before it is written; and the escalation of overdue items a scheduler or
`zhongtai review escalate` runs.

Masking: a decision is rendered as the decision log shows it to its reader (capabilities/decision_view.py):
inputs, output and feature values masked for every PII class the reader may not `see_pii`, and the
explanation (the feature values, and here a process node's reasons too) only with `see_explanation`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from zhongtai.errors import ZhongtaiError
from zhongtai.govern.redaction import scrub
from zhongtai.meta.review import VERDICTS, ReviewItem, missing_item
from zhongtai.meta.time import now

if TYPE_CHECKING:
    from zhongtai.govern.policy import PolicyEngine
    from zhongtai.govern.principal import Principal
    from zhongtai.meta.store import MetadataStore

MAX_VALUE = 200  # as feedback values (flywheel/feedback.py)
MAX_COMMENT = 1000


@dataclass(frozen=True)
class Verdict:
    """A reviewer's verdict: `accept` the answer, or `correct` it with the right class or value."""

    verdict: str
    value: str | None = None
    comment: str = ""

    def checked(self) -> Verdict:
        """The verdict, or `invalid_argument` naming what is wrong with it (never quoting the comment)."""
        if self.verdict not in VERDICTS:
            raise ZhongtaiError("invalid_argument", f"verdict must be one of {', '.join(VERDICTS)}")
        if self.verdict == "correct" and not (
            self.value and len(self.value.strip()) and len(self.value) <= MAX_VALUE
        ):
            raise ZhongtaiError(
                "invalid_argument",
                f"a correction needs a value of 1 to {MAX_VALUE} characters: the right class",
                'e.g. {"verdict": "correct", "value": "refund"}',
            )
        if self.verdict == "accept" and self.value is not None:
            raise ZhongtaiError(
                "invalid_argument",
                "an accept takes no value",
                "to give another class, send verdict `correct`",
            )
        if len(self.comment) > MAX_COMMENT:
            raise ZhongtaiError(
                "invalid_argument", f"comment holds {len(self.comment)} characters (at most {MAX_COMMENT})"
            )
        return self


def outcomes(verdict: Verdict, answer: str | None, binary: bool) -> dict[str, Any]:
    """The feedback a verdict is: `verdict` (`accept`, or the right class) and the training `label` (the
    class that was right). A binary capability's answer (`watch`) is not a truth live quality can read, so an
    accept there is the verdict alone (read as true) and a correction labels the value given."""
    if verdict.verdict == "correct":
        return {"verdict": verdict.value, "label": verdict.value}
    if binary or answer is None:
        return {"verdict": "accept"}
    return {"verdict": "accept", "label": answer}


def _binary(store: MetadataStore, capability: str) -> bool:
    from zhongtai.errors import NotFound
    from zhongtai.spec.models import CapabilitySpec, ModelSpec

    try:
        spec = CapabilitySpec.model_validate(store.spec("capabilities", capability))
        return ModelSpec.model_validate(store.spec("models", spec.model)).task == "binary_classification"
    except NotFound:  # a capability removed since: its answers are labelled as classes
        return False


def resolve(
    store: MetadataStore, decision_id: str, verdict: Verdict, principal: str, rule: str
) -> tuple[ReviewItem, bool]:
    """Resolve an item with a checked verdict; its feedback, status and audit record commit together.
    Returns the item and whether this call resolved it (False: the same verdict was given before)."""
    checked = verdict.checked()
    (decision,) = store.decisions.by_ids([decision_id]) or (None,)
    if decision is None:
        raise missing_item(decision_id)
    feedback = outcomes(checked, decision.decision, _binary(store, decision.capability))
    return store.review.resolve(
        decision_id, checked.verdict, checked.value, feedback, principal, rule, scrub(checked.comment)
    )


def item_detail(
    store: MetadataStore, decision_id: str, engine: PolicyEngine, principal: Principal
) -> dict[str, Any]:
    """An item with its decision as `principal` may see it (capabilities/decision_view.py: masked by
    `see_pii`, the feature values and a node's reasons only with `see_explanation`)."""
    from zhongtai.capabilities.decision_view import decision_view

    item = store.review.get(decision_id)
    if item is None:
        raise missing_item(decision_id)
    (decision,) = store.decisions.by_ids([decision_id]) or (None,)
    body = item.to_dict()
    body["overdue"] = item.overdue(now())
    body["decision"] = decision_view(decision, engine, principal) if decision is not None else None
    return body


def escalation_targets(pairs: Iterable[str]) -> dict[str, str]:
    """`QUEUE=ASSIGNEE` pairs as a mapping, or `invalid_argument` naming the pair at fault."""
    found: dict[str, str] = {}
    for pair in pairs:
        queue, sep, assignee = pair.partition("=")
        if not sep or not queue.strip() or not assignee.strip():
            raise ZhongtaiError(
                "invalid_argument",
                f"escalation target {pair!r} is not QUEUE=ASSIGNEE",
                "e.g. vip_care=lead.li",
            )
        found[queue.strip()] = assignee.strip()
    return found


def escalate_overdue(
    store: MetadataStore,
    principal: str,
    rule: str,
    targets: Mapping[str, str] | None = None,
    at: datetime | None = None,
    capabilities: tuple[str, ...] | None = None,
) -> list[ReviewItem]:
    """Escalate every open or assigned item past its deadline (at `at`, default now; of `capabilities`,
    default all), handing each to its queue's target: `targets` (queue → reviewer) first, else the
    capability's `review.escalate_to`; audited as one record. A scheduler calls this periodically."""
    given = dict(targets or {})
    declared: dict[str, dict[str, str]] = {}
    for name, spec in store.registered("capabilities").items():
        escalate_to = (spec.get("review") or {}).get("escalate_to")
        if isinstance(escalate_to, dict):
            declared[name] = escalate_to

    def target(capability: str, queue: str) -> str | None:
        return given.get(queue) or declared.get(capability, {}).get(queue)

    return store.review.escalate(at or now(), target, principal, rule, capabilities)
