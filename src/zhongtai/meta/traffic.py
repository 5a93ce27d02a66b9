"""Live traffic splits in the metadata store: one row per capability, each change logged with it and
appended to the audit log in the same transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import sessionmaker

from zhongtai.govern.audit import LOCAL_ADMIN, AuditEntry, AuditKind, record
from zhongtai.meta.tables import SqlChange, SqlTrafficSplit
from zhongtai.meta.time import aware, now


@dataclass(frozen=True)
class TrafficSplit:
    """A capability's live traffic policy and who set it, when and why."""

    capability: str
    policy: dict[str, Any]
    principal: str
    reason: str
    updated_at: datetime
    state: dict[str, Any] | None = None  # a canary ramp's step and status (capabilities/canary.py)


class TrafficRecords:
    def __init__(self, sessions: sessionmaker) -> None:
        self._sessions = sessions

    def get(self, capability: str) -> TrafficSplit | None:
        """The live split of a capability, or None when its spec's traffic (or alias) stands."""
        with self._sessions() as session:
            row = session.get(SqlTrafficSplit, capability)
            return _split(row) if row is not None else None

    def all(self) -> dict[str, TrafficSplit]:
        """Every live split by capability."""
        with self._sessions() as session:
            return {r.capability: _split(r) for r in session.scalars(sa.select(SqlTrafficSplit))}

    def set(
        self,
        capability: str,
        policy: dict[str, Any],
        principal: str,
        reason: str,
        action: str = "split",
        *,
        state: dict[str, Any] | None = None,
        expected_state: dict[str, Any] | None = None,
        rule: str = LOCAL_ADMIN,
    ) -> TrafficSplit | None:
        """Record `policy` (and a canary's `state`) as the capability's live split, with its change-log entry,
        in one transaction. With `expected_state`, only if the stored state is still that (or there is no
        live split yet): None when another process moved it first."""
        at = now()
        with self._sessions.begin() as session:
            row = session.get(SqlTrafficSplit, capability, with_for_update=True)
            if expected_state is not None and row is not None and row.state not in (None, expected_state):
                return None
            before = dict(row.policy) if row is not None else None
            if row is None:
                row = SqlTrafficSplit(capability=capability)
                session.add(row)
            row.policy, row.principal, row.reason, row.updated_at = policy, principal, reason, at
            row.state = state
            session.add(
                SqlChange(
                    at=at, actor=principal, action=action, kind="traffic", name=capability,
                    detail={"from": before, "to": policy, "reason": reason, "state": state},
                )
            )  # fmt: skip
            session.flush()
            body = {"capability": capability, "action": action, "from": before, "to": policy, "state": state}
            record(session, _traffic_entry(principal, capability, body, rule))
            return _split(row)

    def history(self, capability: str, limit: int = 20) -> list[dict[str, Any]]:
        """The capability's traffic changes, newest first: when, who, what (split or reset), from, to, why."""
        query = (
            sa.select(SqlChange)
            .where(SqlChange.kind == "traffic", SqlChange.name == capability)
            .order_by(SqlChange.id.desc())
            .limit(limit)
        )
        with self._sessions() as session:
            return [
                {"at": aware(r.at), "actor": r.actor, "action": r.action, **dict(r.detail)}
                for r in session.scalars(query)
            ]

    def reset(self, capability: str, principal: str, reason: str, rule: str = LOCAL_ADMIN) -> bool:
        """Drop the live split so the spec's traffic stands again; False when there was none."""
        with self._sessions.begin() as session:
            row = session.get(SqlTrafficSplit, capability, with_for_update=True)
            if row is None:
                return False
            session.delete(row)
            session.add(
                SqlChange(
                    at=now(), actor=principal, action="reset", kind="traffic", name=capability,
                    detail={"from": dict(row.policy), "to": None, "reason": reason},
                )
            )  # fmt: skip
            session.flush()
            body = {"capability": capability, "action": "reset", "from": dict(row.policy), "to": None}
            record(session, _traffic_entry(principal, capability, body, rule))
            return True


def _traffic_entry(principal: str, capability: str, body: dict[str, Any], rule: str) -> AuditEntry:
    """A traffic change for the audit log: the policies from and to, never the free-text reason."""
    return AuditEntry(AuditKind.TRAFFIC_CHANGE, principal, f"capability {capability}", body, rule)


def _split(row: SqlTrafficSplit) -> TrafficSplit:
    state = dict(row.state) if row.state is not None else None
    return TrafficSplit(
        row.capability, dict(row.policy), row.principal, row.reason, aware(row.updated_at), state
    )
