"""Experiment runs in the metadata store.

A run is written `running` in its own transaction before any work starts, so even a process killed with
SIGKILL leaves a trace. It ends either `failed` (its own transaction; nothing registered) or `finished`
inside the transaction that registers its model version (`completion`), so there is never a version without
its finished run nor a finished run naming a version that is not there.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from zhongtai.errors import NotFound, ZhongtaiError
from zhongtai.meta.records import Run, RunOutcome
from zhongtai.meta.tables import SqlRun
from zhongtai.meta.time import aware, now

MIN_PREFIX = 4


class RunRecords:
    def __init__(self, sessions: sessionmaker) -> None:
        self._sessions = sessions

    def start(self, run_id: str, model: str, principal: str, host: str, pid: int, code_version: str) -> Run:
        """Record a new run as `running` and commit it at once."""
        with self._sessions.begin() as session:
            row = SqlRun(
                id=run_id,
                model_name=model,
                status="running",
                principal=principal,
                host=host,
                pid=pid,
                started_at=now(),
                code_version=code_version,
                params={},
                metrics={},
                candidates=[],
                datasets={},
                artifacts=[],
            )
            session.add(row)
            session.flush()
            return _run(row)

    def note_training_set(self, run_id: str, training_set_id: str, datasets: dict[str, int]) -> None:
        """Record the training set as soon as it exists, so a run that dies later still names its data."""
        with self._sessions.begin() as session:
            row = session.get(SqlRun, run_id)
            if row is not None and row.status == "running":
                row.training_set_id, row.datasets = training_set_id, dict(datasets)

    def completion(self, run_id: str, outcome: RunOutcome) -> Callable[[Session, int], None]:
        """What the version's registration runs inside its transaction: mark the run finished with it."""

        def complete(session: Session, version: int) -> None:
            row = session.get(SqlRun, run_id, with_for_update=True)
            if row is None or row.status != "running":
                raise ZhongtaiError("conflict", f"run {run_id[:12]} is not running; nothing was registered")
            _fill(row, outcome)
            row.status, row.version = "finished", version

        return complete

    def fail(self, run_id: str, outcome: RunOutcome, code: str, message: str) -> None:
        """Mark a running run failed with its error (code and a message that quotes no data value)."""
        with self._sessions.begin() as session:
            row = session.get(SqlRun, run_id)
            if row is None or row.status != "running":
                return
            _fill(row, outcome)
            row.status, row.error_code, row.error_message = "failed", code, message

    def get(self, reference: str) -> Run:
        """The run whose id is `reference` or starts with it (at least four characters, unambiguous)."""
        with self._sessions() as session:
            found = session.get(SqlRun, reference)
            if found is not None:
                return _run(found)
            rows = []
            if len(reference) >= MIN_PREFIX:
                query = sa.select(SqlRun).where(SqlRun.id.startswith(reference, autoescape=True)).limit(2)
                rows = list(session.scalars(query))
            if len(rows) > 1:
                raise ZhongtaiError(
                    "invalid_argument",
                    f"run id prefix {reference!r} matches several runs",
                    "give more characters of the id (zhongtai runs list shows them)",
                )
            if not rows:
                raise NotFound("run", reference, "zhongtai runs list")
            return _run(rows[0])

    def list(self, model: str | None = None, limit: int = 50) -> list[Run]:
        """Runs newest first, of one model or of all."""
        with self._sessions() as session:
            query = sa.select(SqlRun).order_by(SqlRun.started_at.desc(), SqlRun.id).limit(limit)
            if model is not None:
                query = query.where(SqlRun.model_name == model)
            return [_run(row) for row in session.scalars(query)]

    def page(
        self, models: tuple[str, ...] | None, offset: int = 0, limit: int = 50
    ) -> tuple[builtins.list[Run], int]:
        """One page of runs newest first, of the models named (None: of all), and how many there are."""
        where = [] if models is None else [SqlRun.model_name.in_(models)]
        with self._sessions() as session:
            total = session.scalar(sa.select(sa.func.count()).select_from(SqlRun).where(*where)) or 0
            query = (
                sa.select(SqlRun)
                .where(*where)
                .order_by(SqlRun.started_at.desc(), SqlRun.id)
                .offset(offset)
                .limit(limit)
            )
            return [_run(row) for row in session.scalars(query)], int(total)

    def of_version(self, model: str, version: int) -> Run | None:
        """The finished run that registered a version (None for versions registered without a run)."""
        with self._sessions() as session:
            row = session.scalar(
                sa.select(SqlRun).where(
                    SqlRun.model_name == model, SqlRun.version == version, SqlRun.status == "finished"
                )
            )
            return None if row is None else _run(row)


def _fill(row: SqlRun, outcome: RunOutcome) -> None:
    row.ended_at = now()
    row.duration_s = outcome.duration_s
    row.peak_memory_kb = outcome.peak_memory_kb
    row.params = outcome.params
    row.metrics = outcome.metrics
    row.candidates = outcome.candidates
    if outcome.training_set_id is not None:
        row.training_set_id, row.datasets = outcome.training_set_id, dict(outcome.datasets)
    row.artifacts = outcome.artifacts
    row.card = outcome.card


def _run(row: SqlRun) -> Run:
    return Run(
        id=row.id,
        model=row.model_name,
        status=row.status,
        principal=row.principal,
        host=row.host,
        pid=row.pid,
        started_at=aware(row.started_at),
        ended_at=aware(row.ended_at),
        duration_s=row.duration_s,
        peak_memory_kb=row.peak_memory_kb,
        code_version=row.code_version,
        params=dict(row.params),
        metrics=dict(row.metrics),
        candidates=list(row.candidates),
        training_set_id=row.training_set_id,
        datasets=dict(row.datasets),
        artifacts=list(row.artifacts),
        version=row.version,
        error_code=row.error_code,
        error_message=row.error_message,
        card=None if row.card is None else dict(row.card),
    )
