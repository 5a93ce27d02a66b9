"""Flywheel runs in the metadata store: one row per retrain run, its steps with their evidence, and a lease.

Two processes never advance the same run: a process first takes the run's lease (a conditional update that
succeeds only when no other process holds an unexpired lease), does the step, and writes the new state with
its audit record in one transaction that also releases the lease. A model has at most one open run: the
unique `open_model` column holds the model's name until the run ends, so two processes triggering the same
model at once create one run between them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from zhongtai.errors import NotFound
from zhongtai.govern.audit import AuditEntry, AuditKind, record
from zhongtai.meta.tables import SqlFlywheelRun
from zhongtai.meta.time import aware, now

if TYPE_CHECKING:
    from zhongtai.meta.store import MetadataStore

LEASE = timedelta(minutes=30)  # longer than a training: a crashed process's run is picked up after it


@dataclass(frozen=True)
class FlywheelRun:
    """One retrain run as stored."""

    id: str
    model_name: str
    capability: str
    state: str
    reason: str
    trigger: dict[str, Any]
    champion_version: int | None
    challenger_version: int | None
    triggered_by: str
    steps: list[dict[str, Any]]
    created_at: datetime
    updated_at: datetime
    open: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        body = dict(self.__dict__)
        body["created_at"], body["updated_at"] = self.created_at.isoformat(), self.updated_at.isoformat()
        return body

    @property
    def since(self) -> datetime:
        """When the run entered its current state."""
        return aware(datetime.fromisoformat(self.steps[-1]["at"])) if self.steps else self.created_at


@dataclass(frozen=True)
class Step:
    """One move of a run: the state it reaches, why, the evidence, and what else changes with it."""

    state: str
    reason: str
    evidence: dict[str, Any]
    principal: str
    closes: bool = False
    challenger_version: int | None = None


class FlywheelRecords:
    """Flywheel runs of the store's models."""

    def __init__(self, store: MetadataStore) -> None:
        self._store = store

    def start(self, run: FlywheelRun) -> FlywheelRun | None:
        """Record a new run (with its audit record); None when the model has an open run already."""
        row = SqlFlywheelRun(
            id=run.id, model_name=run.model_name, capability=run.capability,
            open_model=run.model_name if run.open else None, state=run.state, reason=run.reason,
            trigger=run.trigger, champion_version=run.champion_version,
            challenger_version=run.challenger_version, triggered_by=run.triggered_by, steps=run.steps,
            created_at=run.created_at, updated_at=run.updated_at,
        )  # fmt: skip
        body = {"run": run.id, "state": run.state, "trigger": run.trigger, "champion": run.champion_version}
        try:
            with self._store.transaction() as session:
                session.add(row)
                session.flush()
                kind = AuditKind.FLYWHEEL_TRIGGER if run.open else AuditKind.FLYWHEEL_STEP
                record(session, AuditEntry(kind, run.triggered_by, f"model {run.model_name}", body))
        except IntegrityError:
            return None
        return _run(row)

    def open_run(self, model: str) -> FlywheelRun | None:
        """The model's open run, if any."""
        with self._store.transaction() as session:
            row = session.scalars(sa.select(SqlFlywheelRun).where(SqlFlywheelRun.open_model == model)).first()
            return _run(row) if row is not None else None

    def get(self, run_id: str) -> FlywheelRun:
        """One run; NotFound names it."""
        with self._store.transaction() as session:
            row = session.get(SqlFlywheelRun, run_id)
            if row is None:
                raise NotFound("flywheel run", run_id)
            return _run(row)

    def runs(self, model: str | None = None, limit: int = 50) -> list[FlywheelRun]:
        """The latest runs (of one model), newest first."""
        query = sa.select(SqlFlywheelRun).order_by(SqlFlywheelRun.created_at.desc()).limit(limit)
        if model is not None:
            query = query.where(SqlFlywheelRun.model_name == model)
        with self._store.transaction() as session:
            return [_run(row) for row in session.scalars(query)]

    def page(
        self, models: list[str], capability: str | None = None, offset: int = 0, limit: int = 50
    ) -> tuple[list[FlywheelRun], int]:
        """One page of the runs of `models` (of one capability), newest first, and how many there are."""
        query = sa.select(SqlFlywheelRun).where(SqlFlywheelRun.model_name.in_(models))
        if capability is not None:
            query = query.where(SqlFlywheelRun.capability == capability)
        with self._store.transaction() as session:
            total = session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
            ordered = query.order_by(SqlFlywheelRun.created_at.desc(), SqlFlywheelRun.id)
            return [_run(row) for row in session.scalars(ordered.offset(offset).limit(limit))], int(total)

    def claim(self, run_id: str, owner: str) -> bool:
        """Take the run's lease for `owner`; False when another process holds it."""
        at = now()
        free = sa.or_(SqlFlywheelRun.lease_until.is_(None), SqlFlywheelRun.lease_until < at)
        query = (
            sa.update(SqlFlywheelRun)
            .where(SqlFlywheelRun.id == run_id, SqlFlywheelRun.open_model.is_not(None), free)
            .values(lease_owner=owner, lease_until=at + LEASE)
        )
        with self._store.transaction() as session:
            return bool(session.execute(query).rowcount)  # type: ignore[attr-defined]

    def release(self, run_id: str, owner: str) -> None:
        """Give the lease back without a step (the step had nothing to do yet, or failed)."""
        query = (
            sa.update(SqlFlywheelRun)
            .where(SqlFlywheelRun.id == run_id, SqlFlywheelRun.lease_owner == owner)
            .values(lease_owner=None, lease_until=None)
        )
        with self._store.transaction() as session:
            session.execute(query)

    def advance(self, run_id: str, owner: str | None, step: Step) -> FlywheelRun:
        """Record `step` on the run with its audit record, releasing `owner`'s lease, in one transaction.
        `owner` None records a step taken outside the lease (an approval notes itself so)."""
        at = now()
        with self._store.transaction() as session:
            row = session.get(SqlFlywheelRun, run_id, with_for_update=True)
            if row is None:
                raise NotFound("flywheel run", run_id)
            if owner is not None and row.lease_owner != owner:
                raise LostLease(run_id)
            entry = {"state": step.state, "at": at.isoformat(), "principal": step.principal}
            row.steps = [*row.steps, {**entry, "reason": step.reason, "evidence": step.evidence}]
            row.state, row.reason, row.updated_at = step.state, step.reason, at
            if step.challenger_version is not None:
                row.challenger_version = step.challenger_version
            if step.closes:
                row.open_model = None
            if owner is not None:
                row.lease_owner, row.lease_until = None, None
            session.flush()
            body = {"run": run_id, "state": step.state, "evidence": step.evidence}
            kind = AuditKind.FLYWHEEL_APPROVE if step.state == "approved" else AuditKind.FLYWHEEL_STEP
            record(session, AuditEntry(kind, step.principal, f"model {row.model_name}", body))
            return _run(row)


class LostLease(Exception):
    """Another process took the run over (its lease expired): this process's step is not recorded."""


def _run(row: SqlFlywheelRun) -> FlywheelRun:
    return FlywheelRun(
        id=row.id, model_name=row.model_name, capability=row.capability, state=row.state,
        reason=row.reason, trigger=dict(row.trigger), champion_version=row.champion_version,
        challenger_version=row.challenger_version, triggered_by=row.triggered_by, steps=list(row.steps),
        created_at=aware(row.created_at), updated_at=aware(row.updated_at), open=row.open_model is not None,
    )  # fmt: skip
