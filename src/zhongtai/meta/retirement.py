"""Retired datasets: removed from the project, kept with their history until someone purges them.

Removing a dataset from the project never erases data. `apply` retires its row instead of deleting it: the
versions, fields, ingest runs and quality results stay, the lake files they list stay, and the dataset
disappears from everything that reads the registry. Declaring the same name again restores the row, so
`datasets versions` lists the old versions and the newest is current again. Only `purge`, asked for by name
and refused for a live dataset, deletes the history; its metadata goes in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from zhongtai.errors import NotFound, ZhongtaiError
from zhongtai.meta.tables import (
    SqlChange,
    SqlDataset,
    SqlDatasetVersion,
    SqlField,
    SqlIngestRun,
    SqlQualityRun,
)
from zhongtai.meta.time import aware, now


@dataclass(frozen=True)
class RetiredDataset:
    """A dataset no project declares any more, with the history it keeps."""

    name: str
    retired_at: datetime
    versions: int
    current_version: int | None
    produced_by: str | None  # the identity whose runs wrote it; None for a dataset pulled from a source

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "retired_at": self.retired_at.isoformat(),
            "versions": self.versions,
            "current_version": self.current_version,
            "produced_by": self.produced_by,
        }


@dataclass(frozen=True)
class PurgedDataset:
    """What a purge removed from the metadata store."""

    name: str
    versions: int
    ingest_runs: int
    quality_runs: int


def retire(row: SqlDataset) -> None:
    """Inside the apply transaction: take the dataset out of the registry, keeping everything it owns.

    The source link is cut because the source may be removed in the same plan; the spec still names it,
    and restoring links it again.
    """
    row.retired_at = now()
    row.source_id = None
    row.updated_at = now()


def declared_only(query: sa.Select, table: type) -> sa.Select:
    """Only objects the project declares: a retired dataset is kept for its history, not registered."""
    return query.where(SqlDataset.retired_at.is_(None)) if table is SqlDataset else query


def version_count(session: Session, dataset_id: int) -> int:
    """How many versions a dataset row holds."""
    query = sa.select(sa.func.count()).where(SqlDatasetVersion.dataset_id == dataset_id)
    return int(session.scalar(query) or 0)


class RetiredDatasets:
    """Lists retired datasets and purges them."""

    def __init__(self, sessions: sessionmaker) -> None:
        self._sessions = sessions

    def list(self) -> list[RetiredDataset]:
        """Every retired dataset, by name."""
        with self._sessions() as session:
            rows = session.scalars(
                sa.select(SqlDataset).where(SqlDataset.retired_at.is_not(None)).order_by(SqlDataset.name)
            )
            return [_retired(session, row) for row in rows]

    def get(self, name: str) -> RetiredDataset:
        """One retired dataset; a live one is refused (it is declared: remove it from the project first)."""
        with self._sessions() as session:
            return _retired(session, _retired_row(session, name))

    def purge(self, name: str, actor: str) -> PurgedDataset:
        """Delete a retired dataset's row, versions, fields, ingest runs and quality results, all or nothing.

        The lake files are the caller's to remove once this has committed (lake/purge.py): a failure there
        leaves unreferenced files, never a version whose files are gone.
        """
        with self._sessions.begin() as session:
            row = _retired_row(session, name, lock=True)
            versions = version_count(session, row.id)
            session.execute(sa.delete(SqlField).where(SqlField.dataset_id == row.id))
            session.execute(sa.delete(SqlDatasetVersion).where(SqlDatasetVersion.dataset_id == row.id))
            runs = session.execute(sa.delete(SqlIngestRun).where(SqlIngestRun.dataset_name == name))
            quality = session.execute(sa.delete(SqlQualityRun).where(SqlQualityRun.dataset_name == name))
            session.delete(row)
            purged = PurgedDataset(name, versions, runs.rowcount, quality.rowcount)
            session.add(
                SqlChange(
                    at=now(),
                    actor=actor,
                    action="purge",
                    kind="datasets",
                    name=name,
                    detail={
                        "versions": purged.versions,
                        "ingest_runs": purged.ingest_runs,
                        "quality_runs": purged.quality_runs,
                    },
                )
            )
            return purged


def _retired_row(session: Session, name: str, lock: bool = False) -> SqlDataset:
    query = sa.select(SqlDataset).where(SqlDataset.name == name)
    if lock:
        query = query.with_for_update()
    row = session.scalar(query)
    if row is None:
        raise NotFound("dataset", name, "`zhongtai datasets purge` with no name lists the retired datasets")
    if row.retired_at is None:
        raise ZhongtaiError(
            "conflict",
            f"dataset '{name}' is declared in the project; only a retired dataset can be purged",
            "remove it from the project and apply (it is then retired), then purge it",
        )
    return row


def _retired(session: Session, row: SqlDataset) -> RetiredDataset:
    return RetiredDataset(
        name=row.name,
        retired_at=aware(row.retired_at),  # type: ignore[arg-type]
        versions=version_count(session, row.id),
        current_version=row.current_version,
        produced_by=row.spec.get("identity"),
    )
