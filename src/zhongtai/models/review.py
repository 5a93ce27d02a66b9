"""The review of a model version: registered → pending_review → approved or rejected, later archived.

`TRANSITIONS` is the whole life of a version in one table; `review` runs one step of it: it checks the
step is in the table, asks `policy.authorize` whether the principal may take it, and has the store change
the status with its review record and change-log row in one transaction, conditioned on the status it
read, so of two racing approvals exactly one wins.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from zhongtai.errors import ZhongtaiError
from zhongtai.govern.audit import LOCAL_ADMIN
from zhongtai.meta.records import ModelReview, ModelStatus, ModelVersion
from zhongtai.models.policy import ModelAction, Target, authorize, check_principal

if TYPE_CHECKING:
    from zhongtai.meta.store import MetadataStore

# (status now, action) → status after. A step not in this table is refused.
TRANSITIONS: dict[tuple[ModelStatus, ModelAction], ModelStatus] = {
    (ModelStatus.REGISTERED, ModelAction.SUBMIT): ModelStatus.PENDING_REVIEW,
    (ModelStatus.PENDING_REVIEW, ModelAction.APPROVE): ModelStatus.APPROVED,
    (ModelStatus.PENDING_REVIEW, ModelAction.REJECT): ModelStatus.REJECTED,
    (ModelStatus.REGISTERED, ModelAction.ARCHIVE): ModelStatus.ARCHIVED,
    (ModelStatus.PENDING_REVIEW, ModelAction.ARCHIVE): ModelStatus.ARCHIVED,
    (ModelStatus.APPROVED, ModelAction.ARCHIVE): ModelStatus.ARCHIVED,
    (ModelStatus.REJECTED, ModelAction.ARCHIVE): ModelStatus.ARCHIVED,
}
REVIEW_ACTIONS = (ModelAction.SUBMIT, ModelAction.APPROVE, ModelAction.REJECT, ModelAction.ARCHIVE)
PAST_TENSE = {
    ModelAction.SUBMIT: "submitted",
    ModelAction.APPROVE: "approved",
    ModelAction.REJECT: "rejected",
    ModelAction.ARCHIVE: "archived",
}


def review(
    store: MetadataStore,
    model: str,
    version: int,
    action: ModelAction,
    principal: str | None,
    comment: str = "",
    rule: str = LOCAL_ADMIN,
) -> ModelVersion:
    """Take one review step (`submit`, `approve`, `reject`, `archive`) as `principal`; the version after.
    `rule` is the policy rule that let the principal act, kept in the audit log."""
    if action not in REVIEW_ACTIONS:
        raise ZhongtaiError(
            "invalid_argument", f"'{action}' is not a review step", "submit, approve, reject or archive"
        )
    check_principal(principal)
    store.spec("models", model)  # an unknown model says so, rather than blaming the version
    found = store.models.get(model, version)
    to = TRANSITIONS.get((found.status, action))
    if to is None:
        raise _refusal(found, action)
    who = authorize(principal, action, Target(model, version, found.status, submitter(store, model, version)))
    return store.models.transition(model, version, action.value, found.status, to, who, comment, rule)


def submitter(store: MetadataStore, model: str, version: int) -> str | None:
    """Who submitted the version for review last; None if it never was."""
    submits = [r for r in store.models.reviews(model, version) if r.action == ModelAction.SUBMIT]
    return submits[-1].principal if submits else None


def reviews(store: MetadataStore, model: str, version: int | None = None) -> list[ModelReview]:
    """Every review step of a model (or one version), oldest first."""
    store.spec("models", model)
    return store.models.reviews(model, version)


def _refusal(found: ModelVersion, action: ModelAction) -> ZhongtaiError:
    """Why `action` cannot be taken from the version's status, and what to do instead."""
    ref = f"{found.model} v{found.version}"
    command = f"{found.model} {found.version}"
    need = sorted(s.value for s, a in TRANSITIONS if a is action)
    message = (
        f"{ref} is {found.status}: only a version that is {' or '.join(need)} can be {PAST_TENSE[action]}"
    )
    hints = {
        ModelStatus.REGISTERED: f"submit it first: `zhongtai models submit {command}`",
        ModelStatus.PENDING_REVIEW: f"it waits for review: `zhongtai models approve {command}` or reject",
        ModelStatus.APPROVED: "it is approved already: point an alias at it (`zhongtai models alias`)",
        ModelStatus.REJECTED: f"a rejected version stays rejected: train a new version of {found.model}",
        ModelStatus.ARCHIVED: f"an archived version is retired: train a new version of {found.model}",
    }
    return ZhongtaiError("conflict", message, hints[found.status])
