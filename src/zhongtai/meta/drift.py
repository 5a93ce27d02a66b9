"""Reference profiles and drift reports in the metadata store, and the decision-log window drift reads."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from zhongtai.meta.tables import SqlDecision, SqlDriftReport, SqlReferenceProfile
from zhongtai.meta.time import aware, now


@dataclass(frozen=True)
class ProfileEntry:
    """Where a model version's reference profile is, and what it covers."""

    model_name: str
    version: int
    location: str
    rows: int
    features: list[str]
    created_at: datetime


@dataclass(frozen=True)
class WindowRow:
    """What drift reads of one logged answer: the version that gave it, its score, feature values and request."""

    model_name: str
    model_version: int
    score: float | None
    features: dict[str, Any]
    inputs: dict[str, Any]


@dataclass(frozen=True)
class DriftReport:
    """One stored drift check."""

    id: int
    capability: str
    model_name: str
    model_version: int
    at: datetime
    window_start: datetime
    window_end: datetime
    decisions: int
    verdict: str
    drifted: int
    results: list[dict[str, Any]]
    thresholds: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        body = dict(self.__dict__)
        for key in ("at", "window_start", "window_end"):
            body[key] = body[key].isoformat()
        return body


def profile_recorder(
    model: str, location: str, rows: int, features: list[str]
) -> Callable[[Session, int], None]:
    """A `within(session, version)` for `ModelRecords.register`: the profile row commits with the version."""

    def record(session: Session, version: int) -> None:
        session.add(
            SqlReferenceProfile(
                model_name=model,
                version=version,
                location=location,
                rows=rows,
                features=features,
                created_at=now(),
            )
        )

    return record


class DriftRecords:
    def __init__(self, sessions: sessionmaker) -> None:
        self._sessions = sessions

    def profile(self, model: str, version: int) -> ProfileEntry | None:
        """The version's profile entry; None for a version trained before profiles were saved."""
        with self._sessions() as session:
            row = session.get(SqlReferenceProfile, (model, version))
            if row is None:
                return None
            return ProfileEntry(
                row.model_name, row.version, row.location, row.rows, list(row.features), aware(row.created_at)
            )

    def window(
        self, capability: str, since: datetime, until: datetime, page: int = 5_000
    ) -> Iterator[WindowRow]:
        """The capability's model answers (no shadows, no fallbacks) logged in [since, until), read in pages."""
        query = (
            sa.select(
                SqlDecision.model_name,
                SqlDecision.model_version,
                SqlDecision.score,
                SqlDecision.features,
                SqlDecision.inputs,
            )
            .where(
                SqlDecision.capability == capability,
                SqlDecision.at >= since,
                SqlDecision.at < until,
                SqlDecision.shadow_of.is_(None),
                SqlDecision.fallback.is_(False),
                SqlDecision.model_version.is_not(None),
            )
            .order_by(SqlDecision.at)
            .execution_options(yield_per=page)
        )
        with self._sessions() as session:
            for name, version, score, features, inputs in session.execute(query):
                yield WindowRow(name, version, score, features or {}, inputs or {})

    def add_report(self, report: DriftReport) -> DriftReport:
        """Store a report (its `id` is ignored); returns it with the id it got."""
        body = {k: v for k, v in report.__dict__.items() if k != "id"}
        with self._sessions.begin() as session:
            row = SqlDriftReport(**body)
            session.add(row)
            session.flush()
            return _report(row)

    def reports(self, capability: str | None = None, limit: int = 20) -> list[DriftReport]:
        """Stored reports, newest first."""
        query = sa.select(SqlDriftReport).order_by(SqlDriftReport.at.desc(), SqlDriftReport.id.desc())
        if capability is not None:
            query = query.where(SqlDriftReport.capability == capability)
        with self._sessions() as session:
            return [_report(r) for r in session.scalars(query.limit(limit))]

    def page(self, capability: str, offset: int = 0, limit: int = 50) -> tuple[list[DriftReport], int]:
        """One page of a capability's stored reports, newest first, and how many it has in all."""
        where = SqlDriftReport.capability == capability
        query = (
            sa.select(SqlDriftReport)
            .where(where)
            .order_by(SqlDriftReport.at.desc(), SqlDriftReport.id.desc())
            .offset(offset)
            .limit(limit)
        )
        with self._sessions() as session:
            total = session.scalar(sa.select(sa.func.count()).select_from(SqlDriftReport).where(where)) or 0
            return [_report(r) for r in session.scalars(query)], int(total)


def _report(row: SqlDriftReport) -> DriftReport:
    return DriftReport(
        id=row.id,
        capability=row.capability,
        model_name=row.model_name,
        model_version=row.model_version,
        at=aware(row.at),
        window_start=aware(row.window_start),
        window_end=aware(row.window_end),
        decisions=row.decisions,
        verdict=row.verdict,
        drifted=row.drifted,
        results=list(row.results),
        thresholds=dict(row.thresholds),
    )
