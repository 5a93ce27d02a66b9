"""Feedback rows in the metadata store: one per decision and kind."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from zhongtai.meta.tables import SqlDecision, SqlFeedback
from zhongtai.meta.time import aware, now


@dataclass(frozen=True)
class LabelledDecision:
    """A logged answer with the outcomes reported for it, by kind."""

    decision_id: str
    at: datetime
    model_version: int | None
    arm: str | None
    decision: str
    score: float | None
    output: dict[str, Any] | None
    outcomes: dict[str, Any]

    def outcome(self, kinds: tuple[str, ...]) -> Any:
        """The value of the first of `kinds` this decision has an outcome of (None if none)."""
        for kind in kinds:
            if kind in self.outcomes:
                return self.outcomes[kind]
        return None


@dataclass(frozen=True)
class Feedback:
    """An outcome reported for a decision."""

    decision_id: str
    capability: str
    kind: str
    value: Any
    principal: str
    comment: str
    at: datetime

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {**self.__dict__, "at": self.at.isoformat()}


class FeedbackRecords:
    def __init__(self, sessions: sessionmaker) -> None:
        self._sessions = sessions

    def add(
        self, decision_id: str, capability: str, kind: str, value: Any, principal: str, comment: str = ""
    ) -> tuple[Feedback, bool]:
        """Record an outcome; (the stored feedback, True) when new, (the one stored before, False) when the
        decision already has feedback of this kind (a race between two writers ends the same way)."""
        row = SqlFeedback(
            decision_id=decision_id, capability=capability, kind=kind, value={"value": value},
            principal=principal, comment=comment, at=now(),
        )  # fmt: skip
        try:
            with self._sessions.begin() as session:
                session.add(row)
                session.flush()
                return _feedback(row), True
        except IntegrityError:
            existing = self.get(decision_id, kind)
            if existing is None:  # not a duplicate after all: let the error speak
                raise
            return existing, False

    def get(self, decision_id: str, kind: str) -> Feedback | None:
        """The decision's feedback of `kind`, if any."""
        with self._sessions() as session:
            row = session.scalar(
                sa.select(SqlFeedback).where(SqlFeedback.decision_id == decision_id, SqlFeedback.kind == kind)
            )
            return _feedback(row) if row is not None else None

    def of_decision(self, decision_id: str) -> list[Feedback]:
        """Every feedback of a decision, oldest first."""
        with self._sessions() as session:
            query = (
                sa.select(SqlFeedback).where(SqlFeedback.decision_id == decision_id).order_by(SqlFeedback.id)
            )
            return [_feedback(r) for r in session.scalars(query)]

    def labelled(
        self, capability: str, since: datetime, until: datetime | None = None
    ) -> list[LabelledDecision]:
        """The capability's answers (not shadows) made in [since, until) that have feedback, with it."""
        query = (
            sa.select(
                SqlDecision.id, SqlDecision.at, SqlDecision.model_version, SqlDecision.arm, SqlDecision.decision,
                SqlDecision.score, SqlDecision.output, SqlFeedback.kind, SqlFeedback.value,
            )
            .join(SqlFeedback, SqlFeedback.decision_id == SqlDecision.id)
            .where(SqlDecision.capability == capability, SqlDecision.at >= since, SqlDecision.shadow_of.is_(None))
            .order_by(SqlDecision.at, SqlFeedback.id)
        )  # fmt: skip
        if until is not None:
            query = query.where(SqlDecision.at < until)
        found: dict[str, LabelledDecision] = {}
        with self._sessions() as session:
            for row in session.execute(query.execution_options(yield_per=10_000)):
                item = found.get(row.id)
                if item is None:
                    item = found[row.id] = LabelledDecision(
                        row.id, aware(row.at), row.model_version, row.arm, row.decision, row.score,
                        dict(row.output) if row.output is not None else None, {},
                    )  # fmt: skip
                item.outcomes[row.kind] = row.value.get("value")
        return list(found.values())


def _feedback(row: SqlFeedback) -> Feedback:
    return Feedback(
        row.decision_id,
        row.capability,
        row.kind,
        row.value.get("value"),
        row.principal,
        row.comment,
        aware(row.at),
    )
