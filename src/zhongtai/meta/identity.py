"""OneID runs in the metadata store: each published run, and which one is current per identity.

Publishing is one transaction: the run's row, a new version of each dataset it produces (persons, crosswalk)
and the move of the current pointer commit together or not at all. The files are in the lake before it
starts, so a crash at any point leaves the previous run current and complete.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from zhongtai.errors import ZhongtaiError
from zhongtai.meta.records import IdentityRun, NewIdentityRun, NewVersion
from zhongtai.meta.tables import SqlChange, SqlDataset, SqlIdentityCurrent, SqlIdentityRun
from zhongtai.meta.time import aware, now

DatasetRow = Callable[..., SqlDataset]
AddVersion = Callable[[Session, SqlDataset, NewVersion, str], int]


class IdentityRecords:
    def __init__(self, sessions: sessionmaker, dataset_row: DatasetRow, add_version: AddVersion) -> None:
        self._sessions = sessions
        self._dataset_row = dataset_row
        self._add_version = add_version

    def current(self, identity: str) -> IdentityRun | None:
        """The identity's current run, or None before its first."""
        with self._sessions() as session:
            pointer = session.get(SqlIdentityCurrent, identity)
            if pointer is None:
                return None
            return _run(session.get(SqlIdentityRun, pointer.run_id), current=True)

    def runs(self, identity: str) -> list[IdentityRun]:
        """Every published run of the identity, oldest first."""
        with self._sessions() as session:
            pointer = session.get(SqlIdentityCurrent, identity)
            rows = session.scalars(
                sa.select(SqlIdentityRun)
                .where(SqlIdentityRun.identity_name == identity)
                .order_by(SqlIdentityRun.created_at, SqlIdentityRun.id)
            )
            return [_run(r, current=pointer is not None and pointer.run_id == r.id) for r in rows]

    def publish(
        self, run: NewIdentityRun, outputs: dict[str, NewVersion], expected_current: str | None
    ) -> IdentityRun:
        """Record the run, version its output datasets and make it current, in one transaction.

        `expected_current` is the run this one started from (its ids continue that run's); if another run
        was published meanwhile, this one loses rather than minting ids the other already used.
        """
        try:
            with self._sessions.begin() as session:
                pointer = session.scalar(
                    sa.select(SqlIdentityCurrent)
                    .where(SqlIdentityCurrent.identity_name == run.identity)
                    .with_for_update()
                )
                found = pointer.run_id if pointer is not None else None
                if found != expected_current:
                    raise _moved(run.identity, found, expected_current)
                row = _new_row(run)
                session.add(row)
                session.flush()
                for dataset, version in outputs.items():
                    self._add_version(
                        session, self._dataset_row(session, dataset, lock=True), version, "oneid"
                    )
                if pointer is None:
                    session.add(
                        SqlIdentityCurrent(identity_name=run.identity, run_id=run.id, updated_at=now())
                    )
                else:
                    pointer.run_id, pointer.updated_at = run.id, now()
                session.add(
                    SqlChange(
                        at=now(), actor="oneid", action="run", kind="identities", name=run.identity,
                        detail={"run_id": run.id, "persons": run.persons, "records": run.records},
                    )
                )  # fmt: skip
                session.flush()
                return _run(row, current=True)
        except sa.exc.IntegrityError:  # two first runs at once: the other inserted the pointer first
            raise _moved(run.identity, "another run", expected_current) from None


def _moved(identity: str, found: str | None, expected: str | None) -> ZhongtaiError:
    return ZhongtaiError(
        "conflict",
        f"identity '{identity}' moved to run {found} while this run resolved (started from {expected})",
        "run `zhongtai oneid run` again",
    )


def _new_row(run: NewIdentityRun) -> SqlIdentityRun:
    return SqlIdentityRun(
        id=run.id,
        identity_name=run.identity,
        created_at=now(),
        location=run.location,
        inputs=run.inputs,
        stats=run.stats,
        records=run.records,
        persons=run.persons,
        merges=run.merges,
        splits=run.splits,
        next_id=run.next_id,
    )


def _run(row: SqlIdentityRun, current: bool) -> IdentityRun:
    return IdentityRun(
        id=row.id,
        identity=row.identity_name,
        created_at=aware(row.created_at),
        location=row.location,
        inputs=dict(row.inputs),
        stats=dict(row.stats),
        records=row.records,
        persons=row.persons,
        merges=row.merges,
        splits=row.splits,
        next_id=row.next_id,
        current=current,
    )
