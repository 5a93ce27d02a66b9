"""Model versions and their aliases (`champion`, `challenger`) in the metadata store."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from zhongtai.errors import NotFound
from zhongtai.meta.records import ModelVersion
from zhongtai.meta.tables import SqlModelAlias, SqlModelVersion
from zhongtai.meta.time import aware, now


class ModelRecords:
    def __init__(self, sessions: sessionmaker) -> None:
        self._sessions = sessions

    def register(
        self,
        model: str,
        artifact: str,
        artifact_format: str,
        features: list[str],
        params: dict[str, Any],
        metrics: dict[str, Any],
        training_set_id: str | None,
        code_version: str,
        within: Callable[[Session, int], None] | None = None,
    ) -> ModelVersion:
        """Record a new version (numbered one above the newest) with status `registered`.

        `within(session, version)` runs inside the same transaction (a training run completes there), so
        the version and what it hands to `within` commit together or not at all.
        """
        with self._sessions.begin() as session:
            last = session.scalar(
                sa.select(sa.func.max(SqlModelVersion.version)).where(SqlModelVersion.model_name == model)
            )
            row = SqlModelVersion(
                model_name=model,
                version=(last or 0) + 1,
                created_at=now(),
                artifact=artifact,
                artifact_format=artifact_format,
                features=features,
                params=params,
                metrics=metrics,
                training_set_id=training_set_id,
                code_version=code_version,
                status="registered",
            )
            session.add(row)
            session.flush()
            if within is not None:
                within(session, row.version)
            return _version(row, [])

    def versions(self, model: str | None = None) -> list[ModelVersion]:
        with self._sessions() as session:
            query = sa.select(SqlModelVersion).order_by(SqlModelVersion.model_name, SqlModelVersion.version)
            if model is not None:
                query = query.where(SqlModelVersion.model_name == model)
            aliases = self._aliases(session)
            return [_version(r, aliases.get((r.model_name, r.version), [])) for r in session.scalars(query)]

    def get(self, model: str, version: int) -> ModelVersion:
        with self._sessions() as session:
            row = session.scalar(
                sa.select(SqlModelVersion).where(
                    SqlModelVersion.model_name == model, SqlModelVersion.version == version
                )
            )
            if row is None:
                raise NotFound("model version", f"{model} v{version}", f"zhongtai models show {model}")
            return _version(row, self._aliases(session).get((model, version), []))

    def by_alias(self, model: str, alias: str) -> ModelVersion:
        with self._sessions() as session:
            row = session.get(SqlModelAlias, (model, alias))
        if row is None:
            raise NotFound(
                "model alias",
                f"{model}@{alias}",
                f"set it with `zhongtai models alias {model} VERSION {alias}`",
            )
        return self.get(model, row.version)

    def set_alias(self, model: str, version: int, alias: str) -> None:
        """Point the alias at the version (the version must exist); one transaction."""
        self.get(model, version)
        with self._sessions.begin() as session:
            row = session.get(SqlModelAlias, (model, alias))
            if row is None:
                session.add(SqlModelAlias(model_name=model, alias=alias, version=version, updated_at=now()))
            else:
                row.version, row.updated_at = version, now()

    @staticmethod
    def _aliases(session: Session) -> dict[tuple[str, int], list[str]]:
        found: dict[tuple[str, int], list[str]] = {}
        for row in session.scalars(sa.select(SqlModelAlias).order_by(SqlModelAlias.alias)):
            found.setdefault((row.model_name, row.version), []).append(row.alias)
        return found


def _version(row: SqlModelVersion, aliases: list[str]) -> ModelVersion:
    return ModelVersion(
        model=row.model_name,
        version=row.version,
        created_at=aware(row.created_at),
        artifact=row.artifact,
        artifact_format=row.artifact_format,
        features=list(row.features),
        params=dict(row.params),
        metrics=dict(row.metrics),
        training_set_id=row.training_set_id,
        code_version=row.code_version,
        status=row.status,
        aliases=aliases,
    )
