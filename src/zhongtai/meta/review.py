"""Review items in the metadata store: decisions a person must look at, one per decision, in a queue per
capability.

Which decisions become items is one predicate, `review_queue`, over what the runtimes log: a text
capability's answer routed `human_review` (its `queue`), or a process-node answer whose outcome is the
capability's review outcome (`node.route`). Items are created by `DecisionRecords.append` in the batch's own
transaction (`new_items`), so every logged review decision has its item, atomically, and off the request path.

A resolve writes the verdict as feedback (flywheel/review.py says which outcomes) in the same transaction as the item's status, with its audit record: an item is never done without its
feedback, nor the feedback without the item done. Audit bodies hold ids, names and statuses only, never the
comment or any free text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from zhongtai.errors import ZhongtaiError
from zhongtai.govern.audit import AuditEntry, AuditKind, record
from zhongtai.meta.records import DecisionRecord
from zhongtai.meta.tables import SqlCapability, SqlFeedback, SqlReviewItem
from zhongtai.meta.time import aware, now
from zhongtai.spec.base import duration_seconds

REVIEW_ROUTE = "human_review"
DEFAULT_QUEUE = "triage"
DEFAULT_SLA = timedelta(hours=4)
VERDICTS = ("accept", "correct")


class ReviewStatus(StrEnum):
    """Where an item is: waiting, taken by a reviewer, past its deadline and escalated, or resolved."""

    OPEN = "open"
    ASSIGNED = "assigned"
    ESCALATED = "escalated"
    DONE = "done"


PENDING = (ReviewStatus.OPEN, ReviewStatus.ASSIGNED, ReviewStatus.ESCALATED)


@dataclass(frozen=True)
class ReviewItem:
    """A decision waiting for (or given) a reviewer's verdict."""

    decision_id: str
    capability: str
    queue: str
    status: ReviewStatus
    assignee: str | None
    created_at: datetime
    deadline: datetime
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    verdict: str | None = None
    value: Any = None

    def overdue(self, at: datetime) -> bool:
        """Whether the item is still pending after its deadline."""
        return self.status != ReviewStatus.DONE and self.deadline < at

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        body = {**self.__dict__, "status": str(self.status)}
        for key in ("created_at", "deadline", "resolved_at"):
            body[key] = body[key].isoformat() if body[key] is not None else None
        return body


@dataclass(frozen=True)
class ReviewFilter:
    """Which items a listing shows; None means any. `overdue_at` keeps pending items past their deadline."""

    capability: str | None = None
    queue: str | None = None
    status: ReviewStatus | None = None
    assignee: str | None = None
    overdue_at: datetime | None = None
    capabilities: tuple[str, ...] | None = None  # the capabilities the reader may review
    pending: bool = False  # only items not resolved yet (open, assigned or escalated)


def review_queue(decision: DecisionRecord) -> str | None:
    """The queue of a logged decision a person must look at, or None when it needs no review (a shadow's
    record never does: it was never answered)."""
    if decision.shadow_of is not None or not decision.output:
        return None
    for where in (decision.output, decision.output.get("node")):
        if isinstance(where, dict) and where.get("route") == REVIEW_ROUTE:
            queue = where.get("queue")
            return queue if isinstance(queue, str) and queue else DEFAULT_QUEUE
    return None


def _node_deadline(decision: DecisionRecord) -> datetime | None:
    """The process node's own deadline, when it gave one."""
    node = (decision.output or {}).get("node")
    if isinstance(node, dict) and isinstance(node.get("deadline"), str):
        try:
            return aware(datetime.fromisoformat(node["deadline"]))
        except ValueError:
            return None  # a malformed deadline in an old record: the SLA applies
    return None


def new_items(decisions: Iterable[DecisionRecord]) -> list[dict[str, Any]]:
    """The review-item rows of a batch of decisions; `deadline` is None where the capability's SLA applies
    (`with_deadlines` sets it, in `DecisionRecords.append`'s transaction)."""
    rows = []
    for decision in decisions:
        queue = review_queue(decision)
        if queue is not None:
            rows.append(
                {
                    "decision_id": decision.id, "capability": decision.capability, "queue": queue[:128],
                    "status": str(ReviewStatus.OPEN), "assignee": None, "created_at": aware(decision.at),
                    "deadline": _node_deadline(decision),
                }
            )  # fmt: skip
    return rows


def with_deadlines(session: Session, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows with every missing deadline set from their capability's `review.sla` (DEFAULT_SLA without
    one); read once per batch, and only for a batch with review items."""
    names = {r["capability"] for r in rows if r["deadline"] is None}
    slas: dict[str, timedelta] = {}
    if names:
        query = sa.select(SqlCapability.name, SqlCapability.spec).where(SqlCapability.name.in_(names))
        for name, spec in session.execute(query):
            sla = ((spec or {}).get("review") or {}).get("sla")
            if isinstance(sla, str):
                slas[name] = timedelta(seconds=duration_seconds(sla))
    return [
        r
        if r["deadline"] is not None
        else {**r, "deadline": r["created_at"] + slas.get(r["capability"], DEFAULT_SLA)}
        for r in rows
    ]


def missing_item(decision_id: str) -> ZhongtaiError:
    """The `not_found` of an id without a review item."""
    return ZhongtaiError(
        "not_found",
        f"review item {decision_id} does not exist",
        "items are the decisions routed to human review; list them with `zhongtai review list`",
    )


class ReviewRecords:
    """Review items: listed, assigned, resolved into feedback and escalated, each change audited."""

    def __init__(self, sessions: sessionmaker) -> None:
        self._sessions = sessions

    def get(self, decision_id: str) -> ReviewItem | None:
        """The item of a decision, if it has one."""
        with self._sessions() as session:
            row = session.get(SqlReviewItem, decision_id)
            return _item(row) if row is not None else None

    def page(self, where: ReviewFilter, offset: int = 0, limit: int = 50) -> tuple[list[ReviewItem], int]:
        """One page of the items `where` selects, soonest deadline first, and how many it selects in all."""
        query = sa.select(SqlReviewItem)
        for column, wanted in (
            (SqlReviewItem.capability, where.capability),
            (SqlReviewItem.queue, where.queue),
            (SqlReviewItem.status, where.status),
            (SqlReviewItem.assignee, where.assignee),
        ):
            if wanted is not None:
                query = query.where(column == str(wanted))
        if where.capabilities is not None:
            query = query.where(SqlReviewItem.capability.in_(where.capabilities))
        if where.pending:
            query = query.where(SqlReviewItem.status.in_([str(s) for s in PENDING]))
        if where.overdue_at is not None:
            query = query.where(
                SqlReviewItem.deadline < where.overdue_at, SqlReviewItem.status.in_([str(s) for s in PENDING])
            )
        with self._sessions() as session:
            total = session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
            ordered = query.order_by(SqlReviewItem.deadline, SqlReviewItem.decision_id)
            rows = session.scalars(ordered.offset(offset).limit(limit))
            return [_item(r) for r in rows], int(total)

    def assign(
        self, decision_id: str, assignee: str, principal: str, rule: str, take_over: bool = False
    ) -> ReviewItem:
        """Give a pending item to `assignee`; unless `take_over`, an item someone else holds is a conflict
        (two reviewers claiming at once: one wins). Claiming one's own item again changes nothing."""
        with self._sessions.begin() as session:
            # The first statement is the conditional write, so the database decides a race on every
            # backend (a read first would let two SQLite or PostgreSQL transactions both see it free).
            won = _take(session, decision_id, assignee, take_over)
            row = session.get(SqlReviewItem, decision_id)
            if row is None:
                raise missing_item(decision_id)
            if not won:
                if row.status == ReviewStatus.DONE:
                    raise ZhongtaiError("conflict", f"review item {decision_id} is already resolved")
                if row.assignee == assignee:
                    return _item(row)
                raise ZhongtaiError(
                    "conflict",
                    f"review item {decision_id} is assigned to {row.assignee}",
                    "an item is taken by one reviewer; a lead can reassign it",
                )
            body = {
                "capability": row.capability,
                "queue": row.queue,
                "assignee": assignee,
                "take_over": take_over,
            }
            record(session, AuditEntry(AuditKind.REVIEW_ASSIGN, principal, decision_id, body, rule))
            return _item(row)

    def resolve(
        self,
        decision_id: str,
        verdict: str,
        value: Any,
        outcomes: dict[str, Any],
        principal: str,
        rule: str,
        comment: str = "",
    ) -> tuple[ReviewItem, bool]:
        """Resolve an item with `accept` (the answer was right) or `correct` (`value` is the right class),
        writing `outcomes` (feedback kind → value) with it; returns the item and whether this call resolved
        it (False: the same verdict again). Another verdict on a resolved item is a conflict."""
        try:
            with self._sessions.begin() as session:
                row = _locked(session, decision_id)
                if row.status == ReviewStatus.DONE:
                    if row.verdict == verdict and (row.value or {}).get("value") == value:
                        return _item(row), False
                    raise ZhongtaiError(
                        "conflict",
                        f"review item {decision_id} was already resolved ({row.verdict}) by {row.resolved_by}",
                        "a verdict is final; a wrong one is corrected as feedback on a new decision",
                    )
                _add_feedback(session, row, outcomes, principal, comment)
                row.status, row.resolved_at, row.resolved_by = str(ReviewStatus.DONE), now(), principal
                row.verdict, row.value = verdict, {"value": value}
                body = {"capability": row.capability, "queue": row.queue, "verdict": verdict}
                record(session, AuditEntry(AuditKind.REVIEW_RESOLVE, principal, decision_id, body, rule))
                return _item(row), True
        except IntegrityError:  # feedback of the same kind came in over the feedback route meanwhile
            raise ZhongtaiError(
                "conflict",
                f"decision {decision_id} got feedback while its review item was resolved",
                "resolve it again: the verdict is checked against that feedback",
            ) from None

    def capabilities(self) -> list[str]:
        """The capabilities that have review items, by name."""
        with self._sessions() as session:
            query = sa.select(SqlReviewItem.capability).distinct().order_by(SqlReviewItem.capability)
            return list(session.scalars(query))

    def escalate(
        self,
        at: datetime,
        target: Callable[[str, str], str | None],
        principal: str,
        rule: str,
        capabilities: tuple[str, ...] | None = None,
    ) -> list[ReviewItem]:
        """Mark every open or assigned item past its deadline (of `capabilities`, default all) escalated,
        handing it to `target(capability, queue)` when that names someone; one audit record lists them."""
        waiting = [str(ReviewStatus.OPEN), str(ReviewStatus.ASSIGNED)]
        with self._sessions.begin() as session:
            query = sa.select(SqlReviewItem).where(
                SqlReviewItem.status.in_(waiting), SqlReviewItem.deadline < at
            )
            if capabilities is not None:
                query = query.where(SqlReviewItem.capability.in_(capabilities))
            rows = list(session.scalars(query.order_by(SqlReviewItem.deadline).with_for_update()))
            for row in rows:
                row.status = str(ReviewStatus.ESCALATED)
                row.assignee = target(row.capability, row.queue) or row.assignee
            if rows:
                body = {
                    "items": [r.decision_id for r in rows],
                    "to": {r.decision_id: r.assignee for r in rows},
                }
                record(session, AuditEntry(AuditKind.REVIEW_ESCALATE, principal, "review", body, rule))
            return [_item(r) for r in rows]


def _take(session: Session, decision_id: str, assignee: str, take_over: bool) -> bool:
    """Set the assignee of a pending item held by no one (or by anyone, with `take_over`) in one UPDATE;
    whether it changed."""
    table = SqlReviewItem
    held = table.assignee.is_(None) | (table.assignee != assignee) if take_over else table.assignee.is_(None)
    status = sa.case((table.status == str(ReviewStatus.OPEN), str(ReviewStatus.ASSIGNED)), else_=table.status)
    update = (
        sa.update(table)
        .where(table.decision_id == decision_id, table.status != str(ReviewStatus.DONE), held)
        .values(assignee=assignee, status=status)
    )
    return bool(session.execute(update).rowcount)  # type: ignore[attr-defined]


def _locked(session: Session, decision_id: str) -> SqlReviewItem:
    """The item, write-locked for the transaction: a write that changes nothing comes first, so on SQLite
    the transaction holds the database's write lock before it reads (no stale read to fail on later) and
    on PostgreSQL and MySQL the row's lock."""
    touch = sa.update(SqlReviewItem).where(SqlReviewItem.decision_id == decision_id)
    session.execute(touch.values(status=SqlReviewItem.status))
    row = session.get(SqlReviewItem, decision_id)
    if row is None:
        raise missing_item(decision_id)
    return row


def _add_feedback(
    session: Session, row: SqlReviewItem, outcomes: dict[str, Any], principal: str, comment: str
) -> None:
    """The verdict's feedback rows; a decision that already has the same outcome keeps it, another one is
    a conflict (its feedback came before the review, e.g. over POST .../feedback)."""
    query = sa.select(SqlFeedback).where(
        SqlFeedback.decision_id == row.decision_id, SqlFeedback.kind.in_(list(outcomes))
    )
    existing = {f.kind: f.value.get("value") for f in session.scalars(query)}
    at = now()
    for kind, value in outcomes.items():
        if kind in existing:
            if existing[kind] != value:
                raise ZhongtaiError(
                    "conflict",
                    f"decision {row.decision_id} already has {kind} feedback with another value",
                    "one outcome per kind: the review cannot overwrite it",
                )
            continue
        session.add(
            SqlFeedback(
                decision_id=row.decision_id, capability=row.capability, kind=kind, value={"value": value},
                principal=principal, comment=comment, at=at,
            )
        )  # fmt: skip


def _item(row: SqlReviewItem) -> ReviewItem:
    return ReviewItem(
        decision_id=row.decision_id,
        capability=row.capability,
        queue=row.queue,
        status=ReviewStatus(row.status),
        assignee=row.assignee,
        created_at=aware(row.created_at),
        deadline=aware(row.deadline),
        resolved_at=aware(row.resolved_at),
        resolved_by=row.resolved_by,
        verdict=row.verdict,
        value=(row.value or {}).get("value"),
    )
