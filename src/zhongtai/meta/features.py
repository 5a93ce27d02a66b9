"""Feature view builds and training sets in the metadata store."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import sessionmaker

from zhongtai.errors import ZhongtaiError
from zhongtai.meta.records import ColumnInfo, FeatureBuild, TrainingSet
from zhongtai.meta.tables import SqlFeatureBuild, SqlTrainingSet
from zhongtai.meta.time import aware, now


class FeatureRecords:
    def __init__(self, sessions: sessionmaker) -> None:
        self._sessions = sessions

    def add_build(
        self,
        view: str,
        rows: int,
        files: list[str],
        schema: list[ColumnInfo],
        inputs: dict[str, int],
        max_timestamp: str | None,
    ) -> FeatureBuild:
        """Record a finished build as the view's newest."""
        with self._sessions.begin() as session:
            last = session.scalar(
                sa.select(sa.func.max(SqlFeatureBuild.build)).where(SqlFeatureBuild.view_name == view)
            )
            row = SqlFeatureBuild(
                view_name=view,
                build=(last or 0) + 1,
                created_at=now(),
                rows=rows,
                files=files,
                schema=[c.__dict__ for c in schema],
                inputs=inputs,
                max_timestamp=max_timestamp,
            )
            session.add(row)
            session.flush()
            return _build(row)

    def latest_build(self, view: str) -> FeatureBuild | None:
        with self._sessions() as session:
            row = session.scalar(
                sa.select(SqlFeatureBuild)
                .where(SqlFeatureBuild.view_name == view)
                .order_by(SqlFeatureBuild.build.desc())
            )
            return _build(row) if row else None

    def require_build(self, view: str) -> FeatureBuild:
        found = self.latest_build(view)
        if found is None:
            raise ZhongtaiError(
                "not_found",
                f"feature view '{view}' has not been built",
                f"run `zhongtai features build {view}`",
            )
        return found

    def builds(self, view: str) -> list[FeatureBuild]:
        with self._sessions() as session:
            rows = session.scalars(
                sa.select(SqlFeatureBuild)
                .where(SqlFeatureBuild.view_name == view)
                .order_by(SqlFeatureBuild.build)
            )
            return [_build(r) for r in rows]

    def mark_materialized(self, view: str, build: int) -> None:
        with self._sessions.begin() as session:
            row = session.scalar(
                sa.select(SqlFeatureBuild).where(
                    SqlFeatureBuild.view_name == view, SqlFeatureBuild.build == build
                )
            )
            if row is not None:
                row.materialized_at = now()

    def add_training_set(
        self, set_id: str, model: str, rows: int, files: list[str], lineage: dict
    ) -> TrainingSet:
        with self._sessions.begin() as session:
            row = SqlTrainingSet(
                id=set_id, model_name=model, created_at=now(), rows=rows, files=files, lineage=lineage
            )
            session.add(row)
            session.flush()
            return _training_set(row)

    def training_set(self, set_id: str) -> TrainingSet:
        with self._sessions() as session:
            row = session.get(SqlTrainingSet, set_id)
            if row is None:
                raise ZhongtaiError("not_found", f"training set '{set_id}' is not registered")
            return _training_set(row)


def _build(row: SqlFeatureBuild) -> FeatureBuild:
    return FeatureBuild(
        view=row.view_name,
        build=row.build,
        created_at=aware(row.created_at),
        rows=row.rows,
        files=list(row.files),
        schema=[ColumnInfo(**c) for c in row.schema],
        inputs=dict(row.inputs),
        max_timestamp=row.max_timestamp,
        materialized_at=aware(row.materialized_at),
    )


def _training_set(row: SqlTrainingSet) -> TrainingSet:
    return TrainingSet(
        row.id, row.model_name, aware(row.created_at), row.rows, list(row.files), dict(row.lineage)
    )
