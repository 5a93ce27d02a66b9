"""API keys (kept only as SHA-256 hashes) and the decision log."""

from __future__ import annotations

import dataclasses
import hashlib
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from zhongtai.errors import ZhongtaiError
from zhongtai.govern.audit import (
    COLUMNS,
    LOCAL_ADMIN,
    AuditEntry,
    AuditKind,
    AuditRecord,
    decisions_entry,
    record,
    timestamp,
)
from zhongtai.meta.records import ActiveKey, ApiKey, DecisionRecord
from zhongtai.meta.review import new_items, with_deadlines
from zhongtai.meta.tables import SqlApiKey, SqlAuditRecord, SqlDecision, SqlReviewItem
from zhongtai.meta.time import aware, now

KEY_PREFIX = "zt_"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def key_prefix(key: str) -> str:
    return key[:11]


class AccessRecords:
    def __init__(self, sessions: sessionmaker) -> None:
        self._sessions = sessions

    def create_key(
        self,
        name: str,
        roles: list[str],
        principal: str = LOCAL_ADMIN,
        rule: str = LOCAL_ADMIN,
        *,
        owner: str | None = None,
        workspace: str | None = None,
        scopes: list[str] | None = None,
        expires_at: datetime | None = None,
    ) -> str:
        """Make a new key and return it; it is shown once and stored only as its hash. Audited as done by
        `principal`, allowed by `rule`."""
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        with self._sessions.begin() as session:
            if session.scalar(sa.select(SqlApiKey.id).where(SqlApiKey.name == name)) is not None:
                raise ZhongtaiError(
                    "conflict", f"an API key named '{name}' already exists", "choose another --name"
                )
            session.add(
                SqlApiKey(
                    name=name,
                    prefix=key_prefix(key),
                    key_hash=hash_key(key),
                    roles=roles,
                    created_at=now(),
                    owner=owner,
                    workspace=workspace,
                    scopes=scopes or None,
                    expires_at=expires_at,
                )
            )
            session.flush()
            body = {"name": name, "roles": list(roles)}
            record(session, AuditEntry(AuditKind.KEY_CREATE, principal, f"key {name}", body, rule))
        return key

    def rotate(
        self, name: str, grace: timedelta, principal: str = LOCAL_ADMIN, rule: str = LOCAL_ADMIN
    ) -> str:
        """Give the key a new secret and return it; the old one stays valid for `grace` (then only the new).
        Audited as done by `principal`, allowed by `rule`."""
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        with self._sessions.begin() as session:
            row = self._active_row(session, name)
            row.previous_hash, row.previous_until = row.key_hash, now() + grace
            row.prefix, row.key_hash = key_prefix(key), hash_key(key)
            session.flush()
            body = {"name": name, "grace_s": int(grace.total_seconds())}
            record(session, AuditEntry(AuditKind.KEY_ROTATE, principal, f"key {name}", body, rule))
        return key

    def revoke(self, name: str, principal: str = LOCAL_ADMIN, rule: str = LOCAL_ADMIN) -> None:
        """Revoke the key (and a rotated-out secret still in its grace period), audited as done by
        `principal`, allowed by `rule`."""
        with self._sessions.begin() as session:
            row = session.scalar(sa.select(SqlApiKey).where(SqlApiKey.name == name))
            if row is None:
                raise ZhongtaiError("not_found", f"API key '{name}' does not exist")
            row.revoked_at = now()
            session.flush()
            body = {"name": name, "roles": list(row.roles)}
            record(session, AuditEntry(AuditKind.KEY_REVOKE, principal, f"key {name}", body, rule))

    @staticmethod
    def _active_row(session: Session, name: str) -> SqlApiKey:
        row = session.scalar(sa.select(SqlApiKey).where(SqlApiKey.name == name))
        if row is None:
            raise ZhongtaiError("not_found", f"API key '{name}' does not exist", "zhongtai keys list")
        if row.revoked_at is not None:
            raise ZhongtaiError("conflict", f"API key '{name}' is revoked", "create a new key instead")
        return row

    def keys(self) -> list[ApiKey]:
        with self._sessions() as session:
            return [
                ApiKey(
                    name=r.name,
                    prefix=r.prefix,
                    roles=list(r.roles),
                    created_at=aware(r.created_at),
                    revoked_at=aware(r.revoked_at),
                    owner=r.owner,
                    workspace=r.workspace,
                    scopes=list(r.scopes) if r.scopes else None,
                    expires_at=aware(r.expires_at),
                    previous_until=aware(r.previous_until),
                )
                for r in session.scalars(sa.select(SqlApiKey).order_by(SqlApiKey.name))
            ]

    def active_hashes(self) -> dict[str, ActiveKey]:
        """Hash -> key of every key neither revoked nor expired, a rotated-out hash while its grace lasts:
        what a gateway holds in memory (it checks the expiry times again on every request)."""
        at = now()
        with self._sessions() as session:
            rows = session.scalars(sa.select(SqlApiKey).where(SqlApiKey.revoked_at.is_(None)))
            found: dict[str, ActiveKey] = {}
            for r in rows:
                expires = aware(r.expires_at)
                if expires is not None and expires <= at:
                    continue
                active = ActiveKey(
                    name=r.name,
                    roles=tuple(r.roles),
                    workspace=r.workspace,
                    scopes=tuple(r.scopes or ()),
                    expires_at=expires,
                )
                found[r.key_hash] = active
                grace = aware(r.previous_until)
                if r.previous_hash and grace is not None and grace > at:
                    ends = grace if expires is None else min(grace, expires)
                    found[r.previous_hash] = dataclasses.replace(active, expires_at=ends)
            return found


@dataclass(frozen=True)
class DecisionFilter:
    """Which decisions a page of the log holds; every field given narrows it (None: not filtered).

    `before` is the keyset cursor, the (time, id) of the last decision of the page before: a page starts
    strictly after it in the log's order (newest first, id breaking ties), so paging costs one index range
    scan however deep it goes, and a decision logged meanwhile never shifts a page.
    """

    capabilities: tuple[str, ...] | None = None  # the capabilities the reader may read
    capability: str | None = None
    arm: str | None = None
    model_name: str | None = None
    model_version: int | None = None
    decision: str | None = None
    fallback: bool | None = None
    routed: bool | None = None  # routed to a person's review (it has a review item) or answered alone
    since: datetime | None = None
    until: datetime | None = None
    before: tuple[datetime, str] | None = None


class DecisionRecords:
    def __init__(self, sessions: sessionmaker) -> None:
        self._sessions = sessions

    def append(self, decisions: Iterable[DecisionRecord]) -> int:
        """Write a batch of decisions in one transaction with its audit record (each decision's id and
        digest) and the review items of those routed to a person (meta/review.py); returns how many. Times
        are kept in UTC, as the digests read them."""
        batch = [
            dataclasses.replace(d, at=aware(d.at).astimezone(UTC)) if isinstance(d.at, datetime) else d
            for d in decisions
        ]
        if not batch:
            return 0
        entry = decisions_entry(batch)  # the digests, computed before the write lock is taken
        with self._sessions.begin() as session:
            # A bulk insert (one executemany), not the unit of work: the writer thread's throughput is the log's.
            session.execute(sa.insert(SqlDecision), [dict(d.__dict__) for d in batch])
            if items := new_items(batch):
                session.execute(sa.insert(SqlReviewItem), with_deadlines(session, items))
            record(session, entry)
        return len(batch)

    def ids_since(self, since: datetime, until: datetime | None = None, size: int = 10_000) -> Iterator[str]:
        """The ids of every decision made at or after `since` (and before `until`), read in pages."""
        with self._sessions() as session:
            query = sa.select(SqlDecision.id).where(SqlDecision.at >= since)
            if until is not None:
                query = query.where(SqlDecision.at < until)
            yield from session.scalars(query.execution_options(yield_per=size))

    def recent(self, capability: str | None = None, limit: int = 20) -> list[DecisionRecord]:
        with self._sessions() as session:
            query = sa.select(SqlDecision).order_by(SqlDecision.at.desc()).limit(limit)
            if capability:
                query = query.where(SqlDecision.capability == capability)
            return [_decision(r) for r in session.scalars(query)]

    def about(self, asked: dict[str, tuple[str, list[str]]], limit: int = 20) -> list[DecisionRecord]:
        """The newest answers (shadows left out) of the capabilities in `asked`, each called with one of its
        keys in its input field (`{capability: (field, keys)}`). The key is read from the JSON inputs in
        SQL, so the log is filtered where it lives, never loaded."""
        about = [
            sa.and_(SqlDecision.capability == capability, SqlDecision.inputs[field].as_string().in_(keys))
            for capability, (field, keys) in asked.items()
            if keys
        ]
        if not about:
            return []
        query = (
            sa.select(SqlDecision)
            .where(sa.or_(*about), SqlDecision.shadow_of.is_(None))
            .order_by(SqlDecision.at.desc())
            .limit(limit)
        )
        with self._sessions() as session:
            return [_decision(r) for r in session.scalars(query)]

    def page(self, where: DecisionFilter, limit: int = 50) -> list[DecisionRecord]:
        """Up to `limit` decisions matching `where`, newest first (ids break ties, descending), read through
        the (capability, at, id) or (at, id) index."""
        d = SqlDecision
        conditions: list[sa.ColumnElement[bool]] = []
        if where.capabilities is not None:
            conditions.append(d.capability.in_(where.capabilities))
        for column, value in (
            (d.capability, where.capability), (d.arm, where.arm), (d.model_name, where.model_name),
            (d.model_version, where.model_version), (d.decision, where.decision), (d.fallback, where.fallback),
        ):  # fmt: skip
            if value is not None:
                conditions.append(column == value)
        if where.routed is not None:
            # One primary-key probe per row the scan meets: the review items are keyed by decision id.
            routed = sa.exists().where(SqlReviewItem.decision_id == d.id)
            conditions.append(routed if where.routed else ~routed)
        if where.since is not None:
            conditions.append(d.at >= _utc(where.since))
        if where.until is not None:
            conditions.append(d.at < _utc(where.until))
        if where.before is not None:
            at, last_id = _utc(where.before[0]), where.before[1]
            # The leading `at <=` lets the database range-scan the index; the OR settles the ties.
            conditions += [d.at <= at, sa.or_(d.at < at, d.id < last_id)]
        query = sa.select(d).where(*conditions).order_by(d.at.desc(), d.id.desc()).limit(limit)
        with self._sessions() as session:
            return [_decision(r) for r in session.scalars(query)]

    def audit_record(self, decision: DecisionRecord) -> AuditRecord | None:
        """The audit record of the batch that logged `decision` (its id and digest are in the body).

        The audit log has no index but its sequence, so the search is bounded: a batch is recorded after its
        decisions were made, so only `decisions` records from the decision's time on are read, oldest first.
        """
        query = (
            sa.select(SqlAuditRecord)
            .where(
                SqlAuditRecord.kind == str(AuditKind.DECISIONS),
                SqlAuditRecord.at >= timestamp(decision.at),
                SqlAuditRecord.body.contains(f'"{decision.id}"', autoescape=True),
            )
            .order_by(SqlAuditRecord.seq)
            .limit(1)
        )
        with self._sessions() as session:
            row = session.scalar(query)
            return None if row is None else AuditRecord(**{name: getattr(row, name) for name in COLUMNS})

    def by_ids(self, ids: list[str]) -> list[DecisionRecord]:
        """The logged decisions among `ids` (those not logged are simply absent)."""
        if not ids:
            return []
        with self._sessions() as session:
            rows = session.scalars(sa.select(SqlDecision).where(SqlDecision.id.in_(ids)))
            return [_decision(r) for r in rows]

    def served_since(self, capability: str, since: datetime, limit: int) -> list[DecisionRecord]:
        """The capability's answers (not shadows) logged at or after `since`, oldest first, at most `limit`."""
        query = (
            sa.select(SqlDecision)
            .where(
                SqlDecision.capability == capability, SqlDecision.at >= since, SqlDecision.shadow_of.is_(None)
            )
            .order_by(SqlDecision.at)
            .limit(limit)
        )
        with self._sessions() as session:
            return [_decision(r) for r in session.scalars(query)]

    def count(
        self, capability: str | None = None, since: datetime | None = None, until: datetime | None = None
    ) -> int:
        with self._sessions() as session:
            query = sa.select(sa.func.count()).select_from(SqlDecision)
            if capability:
                query = query.where(SqlDecision.capability == capability)
            if since:
                query = query.where(SqlDecision.at >= since)
            if until:
                query = query.where(SqlDecision.at < until)
            return int(session.scalar(query) or 0)


def _utc(moment: datetime) -> datetime:
    # The log keeps UTC (see `append`); a bound compared in another zone would skew on SQLite's text times.
    return aware(moment).astimezone(UTC)


def _decision(row: SqlDecision) -> DecisionRecord:
    return DecisionRecord(
        id=row.id,
        at=aware(row.at),
        capability=row.capability,
        principal=row.principal,
        model_name=row.model_name,
        model_version=row.model_version,
        decision=row.decision,
        score=row.score,
        fallback=row.fallback,
        inputs=dict(row.inputs),
        features=dict(row.features),
        latency_ms=row.latency_ms,
        output=dict(row.output) if row.output is not None else None,
        arm=row.arm,
        shadow_of=row.shadow_of,
        fallback_reason=row.fallback_reason,
    )
