"""Tag builds in the metadata store."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import sessionmaker

from zhongtai.meta.records import TagBuild
from zhongtai.meta.tables import SqlTagBuild
from zhongtai.meta.time import aware, now


class TagRecords:
    def __init__(self, sessions: sessionmaker) -> None:
        self._sessions = sessions

    def add_build(
        self,
        tag: str,
        members: int,
        gained: int,
        lost: int,
        members_files: list[str],
        events_files: list[str],
        inputs: dict[str, int],
    ) -> TagBuild:
        """Record a finished build as the tag's newest."""
        with self._sessions.begin() as session:
            last = session.scalar(
                sa.select(sa.func.max(SqlTagBuild.build)).where(SqlTagBuild.tag_name == tag)
            )
            row = SqlTagBuild(
                tag_name=tag,
                build=(last or 0) + 1,
                created_at=now(),
                members=members,
                gained=gained,
                lost=lost,
                members_files=members_files,
                events_files=events_files,
                inputs=inputs,
            )
            session.add(row)
            session.flush()
            return _build(row)

    def builds(self, tag: str) -> list[TagBuild]:
        with self._sessions() as session:
            rows = session.scalars(
                sa.select(SqlTagBuild).where(SqlTagBuild.tag_name == tag).order_by(SqlTagBuild.build)
            )
            return [_build(r) for r in rows]

    def latest(self, tag: str) -> TagBuild | None:
        found = self.builds(tag)
        return found[-1] if found else None


def _build(row: SqlTagBuild) -> TagBuild:
    return TagBuild(
        tag=row.tag_name,
        build=row.build,
        created_at=aware(row.created_at),
        members=row.members,
        gained=row.gained,
        lost=row.lost,
        members_files=list(row.members_files),
        events_files=list(row.events_files),
        inputs=dict(row.inputs),
    )
