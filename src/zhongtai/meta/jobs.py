"""Leases and runs of scheduled jobs in the metadata store.

A lease row per job says who holds it (`owner`), until when (`expires_at`), for which due run (`slot`), and
the due time of the newest finished run (`done_slot`). A scheduler claims a due run with one conditional
UPDATE — "set me as owner where nobody holds the job (or the holder's lease expired) and the run is not done"
— and owns it only if that statement changed a row. SQLite serialises writers and PostgreSQL re-checks the
WHERE on the row it locked, so of two schedulers racing for one run exactly one sees a changed row. A crashed
holder stops renewing; once its lease expires the next claim takes the run over and its run row is marked
`abandoned`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from zhongtai.meta.tables import SqlJobLease, SqlJobRun
from zhongtai.meta.time import aware, now


@dataclass(frozen=True)
class JobLease:
    """Who holds a job and the newest finished due run."""

    job: str
    owner: str | None
    expires_at: datetime | None
    slot: datetime | None
    done_slot: datetime | None


@dataclass(frozen=True)
class JobRun:
    """One run of a scheduled job; `error_kind` is a code or exception type, never a message."""

    id: int
    job: str
    slot: datetime
    owner: str
    trigger: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    error_kind: str | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        body = dict(self.__dict__)
        for key in ("slot", "started_at", "finished_at"):
            body[key] = body[key].isoformat() if body[key] is not None else None
        return body


class JobRecords:
    """Compare-and-set leases and the run history of scheduled jobs."""

    def __init__(self, sessions: sessionmaker) -> None:
        self._sessions = sessions

    def claim(self, job: str, owner: str, slot: datetime, ttl: timedelta) -> bool:
        """Take the job for the run due at `slot`; True only for the one caller that changed the lease row.

        Refused while another owner's lease is alive, or when a run due at or after `slot` already finished.
        """
        self._ensure_row(job)
        at = now()
        free = sa.or_(SqlJobLease.owner.is_(None), SqlJobLease.expires_at < at)
        not_done = sa.or_(SqlJobLease.done_slot.is_(None), SqlJobLease.done_slot < slot)
        statement = (
            sa.update(SqlJobLease)
            .where(SqlJobLease.job == job, free, not_done)
            .values(owner=owner, expires_at=at + ttl, slot=slot)
        )
        with self._sessions.begin() as session:
            return session.execute(statement).rowcount == 1

    def renew(self, job: str, owner: str, ttl: timedelta) -> bool:
        """Push the lease's expiry on while the run goes on; False when the lease was lost to another owner."""
        statement = (
            sa.update(SqlJobLease)
            .where(SqlJobLease.job == job, SqlJobLease.owner == owner)
            .values(expires_at=now() + ttl)
        )
        with self._sessions.begin() as session:
            return session.execute(statement).rowcount == 1

    def release(self, job: str, owner: str, slot: datetime) -> None:
        """Let go of the job and mark the run due at `slot` done (whatever its outcome: no retry loop)."""
        statement = (
            sa.update(SqlJobLease)
            .where(SqlJobLease.job == job, SqlJobLease.owner == owner)
            .values(owner=None, expires_at=None, done_slot=slot)
        )
        with self._sessions.begin() as session:
            session.execute(statement)

    def _ensure_row(self, job: str) -> None:
        with self._sessions() as session:
            if session.get(SqlJobLease, job) is not None:
                return
        try:
            with self._sessions.begin() as session:
                session.add(SqlJobLease(job=job))
        except IntegrityError:
            pass  # another scheduler inserted it first: the claim below decides

    def start_run(self, job: str, owner: str, slot: datetime, trigger: str) -> int:
        """Record a run as started by the lease holder; runs of the job still `running` were left by a holder
        whose lease expired, and become `abandoned`."""
        with self._sessions.begin() as session:
            session.execute(
                sa.update(SqlJobRun)
                .where(SqlJobRun.job == job, SqlJobRun.status == "running")
                .values(status="abandoned", finished_at=now())
            )
            row = SqlJobRun(
                job=job, slot=slot, owner=owner, trigger=trigger, status="running", started_at=now()
            )
            session.add(row)
            session.flush()
            return row.id

    def finish_run(self, run_id: int, status: str, error_kind: str | None = None) -> None:
        """Record how a run ended."""
        with self._sessions.begin() as session:
            session.execute(
                sa.update(SqlJobRun)
                .where(SqlJobRun.id == run_id)
                .values(status=status, finished_at=now(), error_kind=error_kind)
            )

    def runs(self, job: str | None = None, limit: int = 50) -> list[JobRun]:
        """Newest runs first, of one job or of all."""
        query = sa.select(SqlJobRun).order_by(SqlJobRun.id.desc()).limit(limit)
        if job is not None:
            query = query.where(SqlJobRun.job == job)
        with self._sessions() as session:
            return [_to_run(row) for row in session.scalars(query)]

    def last_runs(self) -> dict[str, JobRun]:
        """The newest run of every job that ran."""
        newest = sa.select(sa.func.max(SqlJobRun.id)).group_by(SqlJobRun.job)
        with self._sessions() as session:
            rows = session.scalars(sa.select(SqlJobRun).where(SqlJobRun.id.in_(newest)))
            return {row.job: _to_run(row) for row in rows}

    def leases(self) -> dict[str, JobLease]:
        """Every job's lease row, by job."""
        with self._sessions() as session:
            return {
                row.job: JobLease(
                    job=row.job,
                    owner=row.owner,
                    expires_at=aware(row.expires_at),
                    slot=aware(row.slot),
                    done_slot=aware(row.done_slot),
                )
                for row in session.scalars(sa.select(SqlJobLease))
            }


def _to_run(row: SqlJobRun) -> JobRun:
    return JobRun(
        id=row.id,
        job=row.job,
        slot=aware(row.slot),
        owner=row.owner,
        trigger=row.trigger,
        status=row.status,
        started_at=aware(row.started_at),
        finished_at=aware(row.finished_at),
        error_kind=row.error_kind,
    )
