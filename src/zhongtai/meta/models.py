"""Model versions, their review steps and their aliases (`champion`, `challenger`) in the metadata store.

Every status change and every alias move is one transaction holding its record (a review row or an alias
move) and its change-log row, so nothing is half-written. Each starts by writing the version row it
depends on, conditioned on the status it expects: on PostgreSQL that locks the row, on SQLite it takes the
database's write lock, so of two racing steps one waits and then finds the status moved, and loses
(`conflict`) rather than both winning. Whether a step is allowed, and the words of its refusal, are the
caller's (models/review.py, models/aliases.py); this module only keeps the race honest.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from zhongtai.errors import NotFound, ZhongtaiError
from zhongtai.govern.audit import LOCAL_ADMIN, AuditEntry, AuditKind, record
from zhongtai.meta.records import AliasMove, ModelReview, ModelStatus, ModelVersion
from zhongtai.meta.tables import SqlAliasMove, SqlChange, SqlModelAlias, SqlModelReview, SqlModelVersion
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
                status=ModelStatus.REGISTERED.value,
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

    def set_alias(
        self,
        model: str,
        version: int,
        alias: str,
        principal: str = "system",
        reason: str = "",
        allowed: Collection[ModelStatus] | None = None,
    ) -> AliasMove:
        """Point the alias at the version, recorded as a move; `allowed` limits the statuses it may have."""
        return self.move_alias(model, alias, version, principal, reason, allowed=allowed)

    def move_alias(
        self,
        model: str,
        alias: str,
        to_version: int | None,
        principal: str,
        reason: str,
        *,
        action: str = "set",
        allowed: Collection[ModelStatus] | None = None,
        check_from: bool = False,
        expected_from: int | None = None,
        rule: str = LOCAL_ADMIN,
    ) -> AliasMove:
        """Point the alias at `to_version` (None removes it) and append the move and its audit record
        (allowed by `rule`), in one transaction.

        `allowed`: the statuses the target may have (default: any but archived). With `check_from`, the
        alias must point at `expected_from` now (None: unset): a rollback undoes a move only while it is
        the alias's last one.
        """
        statuses = set(allowed) if allowed is not None else set(ModelStatus) - {ModelStatus.ARCHIVED}
        with self._sessions.begin() as session:
            if to_version is not None:
                self._hold_version(session, model, to_version, statuses)
            where = (SqlModelAlias.model_name == model, SqlModelAlias.alias == alias)
            current = session.scalar(sa.select(SqlModelAlias.version).where(*where).with_for_update())
            if check_from and current != expected_from:
                raise ZhongtaiError(
                    "conflict",
                    f"{model}@{alias} moved to {_named(current)} meanwhile",
                    f"read `zhongtai models history {model} --alias {alias}` and try again",
                )
            if current == to_version:
                raise ZhongtaiError(
                    "conflict",
                    f"{model}@{alias} is already {_named(current)}: nothing to move",
                    f"`zhongtai models history {model} --alias {alias}` shows its moves",
                )
            at = now()
            if current is None:
                session.add(SqlModelAlias(model_name=model, alias=alias, version=to_version, updated_at=at))
            else:  # conditioned on the version read, so a move made meanwhile is never silently undone
                change = (
                    sa.delete(SqlModelAlias)
                    if to_version is None
                    else sa.update(SqlModelAlias).values(version=to_version, updated_at=at)
                )
                if session.execute(change.where(*where, SqlModelAlias.version == current)).rowcount != 1:
                    raise _moved_meanwhile(model, alias)
            move = SqlAliasMove(
                model_name=model,
                alias=alias,
                from_version=current,
                to_version=to_version,
                action=action,
                principal=principal,
                at=at,
                reason=reason,
            )
            session.add(move)
            session.add(
                SqlChange(
                    at=at,
                    actor=principal,
                    action=action,
                    kind="model_aliases",
                    name=model,
                    detail={"alias": alias, "from_version": current, "to_version": to_version},
                )
            )
            try:
                session.flush()
            except sa.exc.IntegrityError:  # another process created the alias between our read and write
                raise _moved_meanwhile(model, alias) from None
            body = {
                "model": model,
                "alias": alias,
                "action": action,
                "from_version": current,
                "to_version": to_version,
                "move_id": move.id,
            }
            kind = AuditKind.ROLLBACK if action == "rollback" else AuditKind.ALIAS_MOVE
            record(session, AuditEntry(kind, principal, f"model {model}@{alias}", body, rule))
            return _move(move)

    def transition(
        self,
        model: str,
        version: int,
        action: str,
        expected: ModelStatus,
        to: ModelStatus,
        principal: str,
        comment: str,
        rule: str = LOCAL_ADMIN,
    ) -> ModelVersion:
        """Move the version from `expected` to `to` with its review record and its audit record (allowed by
        `rule`), in one transaction.

        Archiving is refused while an alias points at the version, checked after the status row is held
        so an alias cannot be set on it in between.
        """
        with self._sessions.begin() as session:
            updated = session.execute(
                sa.update(SqlModelVersion)
                .where(
                    SqlModelVersion.model_name == model,
                    SqlModelVersion.version == version,
                    SqlModelVersion.status == expected.value,
                )
                .values(status=to.value)
            )
            if updated.rowcount != 1:
                raise ZhongtaiError(
                    "conflict",
                    f"{model} v{version} is no longer {expected.value}: another step moved it meanwhile",
                    f"`zhongtai models show {model} --version {version}` shows where it stands",
                )
            if to is ModelStatus.ARCHIVED:
                pointing = self._aliases_of(session, model, version)
                if pointing:
                    names = ", ".join(f"{model}@{a}" for a in pointing)
                    raise ZhongtaiError(
                        "conflict",
                        f"{model} v{version} cannot be archived: {names} points at it",
                        f"move it first: `zhongtai models alias {model} VERSION {pointing[0]}` "
                        f"or `zhongtai models alias {model} --remove {pointing[0]}`",
                    )
            at = now()
            review = SqlModelReview(
                model_name=model,
                version=version,
                action=action,
                from_status=expected.value,
                to_status=to.value,
                principal=principal,
                at=at,
                comment=comment,
            )
            session.add(review)
            session.add(
                SqlChange(
                    at=at,
                    actor=principal,
                    action=action,
                    kind="model_versions",
                    name=model,
                    detail={"version": version, "from": expected.value, "to": to.value},
                )
            )
            session.flush()
            body = {
                "model": model,
                "version": version,
                "from": expected.value,
                "to": to.value,
                "review_id": review.id,
            }
            record(session, AuditEntry(AuditKind(action), principal, f"model {model} v{version}", body, rule))
        return self.get(model, version)

    def reviews(self, model: str, version: int | None = None) -> list[ModelReview]:
        """The review steps of a model (or of one version), oldest first."""
        with self._sessions() as session:
            query = sa.select(SqlModelReview).where(SqlModelReview.model_name == model)
            if version is not None:
                query = query.where(SqlModelReview.version == version)
            return [_review(r) for r in session.scalars(query.order_by(SqlModelReview.id))]

    def alias_moves(
        self, model: str, alias: str | None = None, at_or_before: datetime | None = None
    ) -> list[AliasMove]:
        """The moves of a model's aliases (or of one), oldest first; up to a moment when given."""
        with self._sessions() as session:
            query = sa.select(SqlAliasMove).where(SqlAliasMove.model_name == model)
            if alias is not None:
                query = query.where(SqlAliasMove.alias == alias)
            if at_or_before is not None:
                query = query.where(SqlAliasMove.at <= at_or_before)
            return [_move(r) for r in session.scalars(query.order_by(SqlAliasMove.id))]

    def _hold_version(
        self, session: Session, model: str, version: int, statuses: Collection[ModelStatus]
    ) -> None:
        """Write-lock the version row if its status is one of `statuses`; conflict (or NotFound) if not."""
        held = session.execute(
            sa.update(SqlModelVersion)
            .where(
                SqlModelVersion.model_name == model,
                SqlModelVersion.version == version,
                SqlModelVersion.status.in_([s.value for s in statuses]),
            )
            .values(status=SqlModelVersion.status)
        )
        if held.rowcount == 1:  # type: ignore[attr-defined]
            return
        status = session.scalar(
            sa.select(SqlModelVersion.status).where(
                SqlModelVersion.model_name == model, SqlModelVersion.version == version
            )
        )
        if status is None:
            raise NotFound("model version", f"{model} v{version}", f"zhongtai models list {model}")
        raise ZhongtaiError(
            "conflict",
            f"{model} v{version} is {status}, which this alias may not point at",
            f"`zhongtai models show {model} --version {version}` shows where it stands",
        )

    @staticmethod
    def _aliases_of(session: Session, model: str, version: int) -> list[str]:
        query = sa.select(SqlModelAlias.alias).where(
            SqlModelAlias.model_name == model, SqlModelAlias.version == version
        )
        return list(session.scalars(query.order_by(SqlModelAlias.alias)))

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
        status=ModelStatus(row.status),
        aliases=aliases,
    )


def _review(row: SqlModelReview) -> ModelReview:
    return ModelReview(
        model=row.model_name,
        version=row.version,
        action=row.action,
        from_status=ModelStatus(row.from_status),
        to_status=ModelStatus(row.to_status),
        principal=row.principal,
        at=aware(row.at),
        comment=row.comment,
    )


def _move(row: SqlAliasMove) -> AliasMove:
    return AliasMove(
        model=row.model_name,
        alias=row.alias,
        from_version=row.from_version,
        to_version=row.to_version,
        action=row.action,
        principal=row.principal,
        at=aware(row.at),
        reason=row.reason,
    )


def _moved_meanwhile(model: str, alias: str) -> ZhongtaiError:
    return ZhongtaiError(
        "conflict",
        f"{model}@{alias} was moved by another step meanwhile",
        f"read `zhongtai models history {model} --alias {alias}` and try again",
    )


def _named(version: int | None) -> str:
    return "unset" if version is None else f"v{version}"
