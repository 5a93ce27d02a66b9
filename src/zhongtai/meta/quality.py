"""Quality results of ingest runs in the metadata store, and how a dataset version finds its own."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import sessionmaker

from zhongtai.meta.tables import SqlDataset, SqlDatasetVersion, SqlQualityRun
from zhongtai.meta.time import aware, now


@dataclass(frozen=True)
class QualityRun:
    """What the quality pass of one ingest run found (results are plain dicts, one per rule)."""

    run_id: str
    dataset: str
    at: datetime
    status: str  # passed | warned | blocked
    rows_in: int
    rows_kept: int
    rows_quarantined: int
    rows_deduped: int
    quarantine_files: list[str]
    results: list[dict[str, Any]]
    message: str | None = None
    version: int | None = field(default=None)

    def to_dict(self) -> dict[str, Any]:
        body = dict(self.__dict__)
        body["at"] = self.at.isoformat()
        return body


class QualityRecords:
    def __init__(self, sessions: sessionmaker) -> None:
        self._sessions = sessions

    def record(self, run: QualityRun) -> None:
        """Keep a run's results. Call before the version commits; the version's run id links to them."""
        with self._sessions.begin() as session:
            session.merge(
                SqlQualityRun(
                    id=run.run_id,
                    dataset_name=run.dataset,
                    at=now(),
                    status=run.status,
                    rows_in=run.rows_in,
                    rows_kept=run.rows_kept,
                    rows_quarantined=run.rows_quarantined,
                    rows_deduped=run.rows_deduped,
                    quarantine_files=list(run.quarantine_files),
                    results=list(run.results),
                    message=run.message,
                )
            )

    def for_version(self, dataset: str, version: int) -> QualityRun | None:
        """The results of the run that made this version, or None if it ran no quality rules."""
        with self._sessions() as session:
            query = (
                sa.select(SqlQualityRun)
                .join(SqlDatasetVersion, SqlDatasetVersion.ingest_run_id == SqlQualityRun.id)
                .join(SqlDataset, SqlDataset.id == SqlDatasetVersion.dataset_id)
                .where(SqlDataset.name == dataset, SqlDatasetVersion.version == version)
            )
            row = session.scalar(query)
            return _to_run(row, version) if row else None

    def blocked_since(self, dataset: str, since: datetime | None) -> list[QualityRun]:
        """Runs whose dataset checks blocked a new version, newest first (after `since` when given)."""
        with self._sessions() as session:
            query = sa.select(SqlQualityRun).where(
                SqlQualityRun.dataset_name == dataset, SqlQualityRun.status == "blocked"
            )
            if since is not None:
                query = query.where(SqlQualityRun.at > since)
            rows = session.scalars(query.order_by(SqlQualityRun.at.desc()).limit(20))
            return [_to_run(r, None) for r in rows]


def _to_run(row: SqlQualityRun, version: int | None) -> QualityRun:
    return QualityRun(
        run_id=row.id,
        dataset=row.dataset_name,
        at=aware(row.at),
        status=row.status,
        rows_in=row.rows_in,
        rows_kept=row.rows_kept,
        rows_quarantined=row.rows_quarantined,
        rows_deduped=row.rows_deduped,
        quarantine_files=list(row.quarantine_files),
        results=list(row.results),
        message=row.message,
        version=version,
    )
