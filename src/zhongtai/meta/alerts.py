"""Alert state in the metadata store: which alerts fire, since when, and when receivers were last told.

The store decides what is news, so two processes raising the same alert (two gateway workers, a CLI run and a
scheduler) tell the receivers once: `raise_` takes a row lock (on PostgreSQL; SQLite serialises writers) and
answers whether this raise is to be sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import sessionmaker

from zhongtai.govern.audit import AuditEntry, record
from zhongtai.meta.tables import SqlAlert
from zhongtai.meta.time import aware


@dataclass(frozen=True)
class AlertRow:
    """An alert as stored."""

    fingerprint: str
    name: str
    labels: dict[str, str]
    severity: str
    summary: str
    description: str
    status: str
    starts_at: datetime
    ends_at: datetime | None
    last_raised_at: datetime
    notified_at: datetime | None
    raised: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        body = dict(self.__dict__)
        for key in ("starts_at", "ends_at", "last_raised_at", "notified_at"):
            body[key] = body[key].isoformat() if body[key] else None
        return body


class AlertRecords:
    def __init__(self, sessions: sessionmaker) -> None:
        self._sessions = sessions

    def raise_(self, fields: dict[str, Any], at: datetime, repeat: timedelta) -> tuple[AlertRow, bool]:
        """Record a raise of the alert `fields` describe (fingerprint, name, labels, severity, summary,
        description); returns its row and whether receivers are to be told: it is new, was resolved, or was
        last told longer than `repeat` ago (or never, as when the last sending failed)."""
        with self._sessions.begin() as session:
            row = session.get(SqlAlert, fields["fingerprint"], with_for_update=True)
            if row is None:
                row = SqlAlert(**fields, status="firing", starts_at=at, last_raised_at=at, raised=0)
                session.add(row)
                news = True
            else:
                notified = aware(row.notified_at)
                news = row.status != "firing" or notified is None or at - notified >= repeat
                if row.status != "firing":
                    row.starts_at, row.ends_at = at, None
                row.status, row.last_raised_at = "firing", at
                row.severity, row.summary, row.description = (
                    fields["severity"],
                    fields["summary"],
                    fields["description"],
                )
            row.raised += 1
            session.flush()
            return _row(row), news

    def resolve(self, fingerprint: str, at: datetime, audit: AuditEntry | None = None) -> AlertRow | None:
        """Mark a firing alert resolved (with `audit` recorded in the same transaction: a person's doing);
        the row, or None when it was not firing (nothing to tell, nothing recorded)."""
        with self._sessions.begin() as session:
            row = session.get(SqlAlert, fingerprint, with_for_update=True)
            if row is None or row.status != "firing":
                return None
            row.status, row.ends_at = "resolved", at
            session.flush()
            if audit is not None:
                record(session, audit)
            return _row(row)

    def notified(self, fingerprints: list[str], at: datetime) -> None:
        """Receivers were told about these alerts at `at`."""
        with self._sessions.begin() as session:
            session.execute(
                sa.update(SqlAlert).where(SqlAlert.fingerprint.in_(fingerprints)).values(notified_at=at)
            )

    def listed(self, status: str | None = "firing", limit: int = 200) -> list[AlertRow]:
        """Alerts, the latest raised first; only those of `status` unless it is None."""
        query = sa.select(SqlAlert).order_by(SqlAlert.last_raised_at.desc()).limit(limit)
        if status is not None:
            query = query.where(SqlAlert.status == status)
        with self._sessions() as session:
            return [_row(r) for r in session.scalars(query)]

    def get(self, fingerprint: str) -> AlertRow | None:
        """One alert by its fingerprint, if it was ever raised."""
        with self._sessions() as session:
            row = session.get(SqlAlert, fingerprint)
            return _row(row) if row is not None else None

    def page(
        self,
        status: str | None,
        capabilities: list[str] | None,
        unlabelled: bool,
        offset: int = 0,
        limit: int = 50,
    ) -> tuple[list[AlertRow], int]:
        """One page of alerts, the latest raised first, and how many the filters select: of `status` (any when
        None), about one of `capabilities` (by their `capability` label; any when None), and, with
        `unlabelled`, also those about no capability."""
        label = SqlAlert.labels["capability"].as_string()
        query = sa.select(SqlAlert)
        if status is not None:
            query = query.where(SqlAlert.status == status)
        if capabilities is not None:
            about = label.in_(capabilities)
            query = query.where(sa.or_(about, label.is_(None)) if unlabelled else about)
        elif not unlabelled:
            query = query.where(label.is_not(None))
        with self._sessions() as session:
            total = session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
            ordered = query.order_by(SqlAlert.last_raised_at.desc(), SqlAlert.fingerprint)
            return [_row(r) for r in session.scalars(ordered.offset(offset).limit(limit))], int(total)


def _row(row: SqlAlert) -> AlertRow:
    return AlertRow(
        row.fingerprint,
        row.name,
        dict(row.labels),
        row.severity,
        row.summary,
        row.description,
        row.status,
        aware(row.starts_at),
        aware(row.ends_at),
        aware(row.last_raised_at),
        aware(row.notified_at),
        row.raised,
    )
