"""The audit log: every change and every batch of decisions, appended to one hash-chained table.

The chain: record n carries `prev_hash`, the hash of record n-1 (`GENESIS` for record 1), and `hash`, the
SHA-256 of the canonical encoding of every other column of record n (`content_hash`). Editing, deleting,
inserting or reordering a record therefore breaks its own hash or its successor's link, and
`zhongtai audit verify` (govern/audit_verify.py) says which record and how.

Appends: `record(session, entry)` runs inside the transaction of the change it describes, as that
transaction's last statement, so a change and its record commit together or not at all. It first takes the
log's append lock — on PostgreSQL a transaction-scoped advisory lock, on SQLite the database write lock
(taken by a write that changes nothing), elsewhere a row lock on the last record — and only then reads the
last record, so two writers (two gateways, a gateway and the CLI) never chain onto the same record. Taken
last, the lock is held only for one read and one insert and never waits behind another lock of the same
transaction. Should a writer ever skip it, the primary key on `seq` refuses the fork.

After the commit, the new head (seq, hash) is handed to the store's head export (govern/audit_head.py), which
writes it outside the database so a truncated tail is caught too.

No PII: a body holds ids, names, versions and digests only; never inputs, feature values, comments or any
free text. Rows of `audit_log` stay in this module: callers get `AuditRecord`s.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from zhongtai.meta.tables import SqlAuditRecord
from zhongtai.meta.time import aware, now

if TYPE_CHECKING:
    from zhongtai.meta.records import Change, DecisionRecord

GENESIS = "0" * 64  # the `prev_hash` of record 1
LOCAL_ADMIN = "local-admin"  # the rule that lets the CLI govern an embedded store until policies exist
DECISION_RULE = "api-key"  # the rule that lets a decision be logged today: a valid API key called
_PG_AUDIT_LOCK = 0x7A74_4155  # any constant: the same for every process appending to one database
_PENDING_HEAD = "zt_audit_head"  # session.info key: the head this transaction appends, exported on commit
_OBJECT_CHARS = 256


class AuditKind(StrEnum):
    """What a record is about. `traffic_change` is recorded by the traffic policies through `record`."""

    APPLY = "apply"
    KEY_CREATE = "key_create"
    KEY_REVOKE = "key_revoke"
    KEY_ROTATE = "key_rotate"
    SUBMIT = "submit"
    APPROVE = "approve"
    REJECT = "reject"
    ARCHIVE = "archive"
    ALIAS_MOVE = "alias_move"
    ROLLBACK = "rollback"
    TRAFFIC_CHANGE = "traffic_change"
    DECISIONS = "decisions"
    REVIEW_ASSIGN = "review_assign"
    REVIEW_RESOLVE = "review_resolve"
    REVIEW_ESCALATE = "review_escalate"
    FLYWHEEL_TRIGGER = "flywheel_trigger"  # a retrain run started, with the trigger's evidence
    FLYWHEEL_STEP = "flywheel_step"  # a run moved on, with the step's evidence
    FLYWHEEL_APPROVE = "flywheel_approve"  # a second principal let a challenger serve
    ALERT_RESOLVE = "alert_resolve"  # a person marked a firing alert resolved


@dataclass(frozen=True)
class AuditEntry:
    """What a caller records: who did what to which object, allowed by which rule, with a JSON body."""

    kind: AuditKind
    principal: str
    object: str
    body: dict[str, Any] = field(default_factory=dict)
    rule: str = LOCAL_ADMIN


@dataclass(frozen=True)
class AuditRecord:
    """One record as stored: every column exactly as the database holds it (time and body as text)."""

    seq: int
    at: str
    kind: str
    principal: str
    rule: str
    object: str
    body: str
    prev_hash: str
    hash: str

    def content_hash(self, seq: int | None = None) -> str:
        """The hash the record's content gives (as if numbered `seq`, to find where a moved record was)."""
        columns = {name: getattr(self, name) for name in HASHED_COLUMNS}
        if seq is not None:
            columns["seq"] = seq
        return content_hash(columns)

    def parsed_body(self) -> dict[str, Any] | None:
        """The body as JSON, or None when it is not a JSON object any more (it was edited)."""
        try:
            value = json.loads(self.body)
        except ValueError:
            return None
        return value if isinstance(value, dict) else None

    def to_dict(self) -> dict[str, Any]:
        """The record for `--json`: the body parsed (kept as text if it no longer parses)."""
        parsed = self.parsed_body()
        return {name: getattr(self, name) for name in COLUMNS} | {
            "body": parsed if parsed is not None else self.body
        }


# Every column of the table, in table order; all but `hash` are hashed. Read from the table so a column
# added later is covered without a change here.
COLUMNS = tuple(column.name for column in SqlAuditRecord.__table__.columns)
HASHED_COLUMNS = tuple(name for name in COLUMNS if name != "hash")


def canonical(value: Any) -> str:
    """The one JSON text of a value: sorted keys, no spaces, UTF-8 as is."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def content_hash(columns: dict[str, Any]) -> str:
    """SHA-256 (hex) of the canonical encoding of a record's columns; a NULL column is left out, so a
    column added later (NULL in older records) leaves their hashes as they were."""
    present = {name: value for name, value in columns.items() if value is not None}
    return hashlib.sha256(canonical(present).encode()).hexdigest()


def timestamp(moment: datetime) -> str:
    """A moment as the log keeps it: UTC, ISO 8601 with microseconds (sorts as text)."""
    return aware(moment).astimezone(UTC).isoformat(timespec="microseconds")


# -- appending ------------------------------------------------------------------------------------------


def record(session: Session, entry: AuditEntry) -> AuditRecord:
    """Append `entry` inside the caller's transaction; call it last, just before the commit."""
    _lock(session)
    last = session.execute(
        sa.select(SqlAuditRecord.seq, SqlAuditRecord.hash).order_by(SqlAuditRecord.seq.desc()).limit(1)
    ).first()
    seq, prev_hash = (last[0] + 1, last[1]) if last is not None else (1, GENESIS)
    columns = {
        "seq": seq,
        "at": timestamp(now()),
        "kind": str(entry.kind),
        "principal": entry.principal[:128],
        "rule": entry.rule[:128],
        "object": _shorten(entry.object),
        "body": canonical(entry.body),
        "prev_hash": prev_hash,
    }
    row = SqlAuditRecord(**columns, hash=content_hash(columns))
    session.add(row)
    session.flush()
    session.info[_PENDING_HEAD] = (seq, row.hash)
    return _record(row)


def _lock(session: Session) -> None:
    """Hold the log's append lock until the transaction ends (see the module docstring)."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_AUDIT_LOCK})
    elif dialect == "sqlite":
        session.execute(sa.text("UPDATE audit_log SET seq = seq WHERE 0 = 1"))
    else:
        session.execute(
            sa.select(SqlAuditRecord.seq).order_by(SqlAuditRecord.seq.desc()).limit(1).with_for_update()
        )


def watch_commits(sessions: sessionmaker, on_head: Callable[[int, str], None]) -> None:
    """Call `on_head(seq, hash)` after every commit that appended to the log (never for a rollback)."""

    def committed(session: Session) -> None:
        head = session.info.pop(_PENDING_HEAD, None)
        if head is not None:
            on_head(*head)

    def rolled_back(session: Session, _transaction: Any = None) -> None:
        session.info.pop(_PENDING_HEAD, None)

    sa.event.listen(sessions, "after_commit", committed)
    sa.event.listen(sessions, "after_soft_rollback", rolled_back)


def _shorten(text: str) -> str:
    return text if len(text) <= _OBJECT_CHARS else text[: _OBJECT_CHARS - 1] + "…"


# -- what each change records ------------------------------------------------------------------------------


def apply_entry(changes: Iterable[Change], actor: str, rule: str = LOCAL_ADMIN) -> AuditEntry:
    """A spec apply: each step's kind, action, name and a digest of the spec it applied (not the spec)."""
    steps = [
        {
            "kind": c.kind,
            "action": c.action,
            "name": c.name,
            "spec_sha256": hashlib.sha256(canonical(c.spec).encode()).hexdigest() if c.spec else None,
        }
        for c in changes
    ]
    named = ", ".join(f"{s['kind']}/{s['name']}" for s in steps)
    return AuditEntry(AuditKind.APPLY, actor, named, {"steps": steps}, rule)


def decision_digest(decision: DecisionRecord) -> str:
    """SHA-256 of one decision as the decisions table keeps it (time in UTC), so an edited row is caught."""
    fields = dict(decision.__dict__)
    # Records logged before decisions kept a fallback reason were digested without the field.
    if fields.get("fallback_reason") is None:
        fields.pop("fallback_reason", None)
    fields["at"] = timestamp(decision.at) if isinstance(decision.at, datetime) else decision.at
    return hashlib.sha256(canonical(fields).encode()).hexdigest()


def decisions_entry(decisions: list[DecisionRecord]) -> AuditEntry:
    """A batch of decisions: each id with its digest, and the capabilities, model versions and principals."""
    # A value missing here (a record the store will refuse) must not fail before the store names it.
    capabilities = sorted({str(d.capability) for d in decisions if d.capability is not None})
    principals = sorted({str(d.principal) for d in decisions if d.principal is not None})
    models = sorted({f"{d.model_name} v{d.model_version}" for d in decisions if d.model_name})
    body = {
        "decisions": [[d.id, decision_digest(d)] for d in decisions],
        "capabilities": capabilities,
        "models": models,
        "principals": principals,
    }
    principal = principals[0] if len(principals) == 1 else f"{len(principals)} principals"
    return AuditEntry(AuditKind.DECISIONS, principal, ", ".join(capabilities), body, DECISION_RULE)


# -- reading ------------------------------------------------------------------------------------------------


class AuditLog:
    """Reads the log: recent records with filters, and the whole chain in order, page by page."""

    def __init__(self, sessions: sessionmaker) -> None:
        self._sessions = sessions

    def count(self) -> int:
        with self._sessions() as session:
            return int(session.scalar(sa.select(sa.func.count()).select_from(SqlAuditRecord)) or 0)

    def records(
        self,
        kind: str | None = None,
        principal: str | None = None,
        object_contains: str | None = None,
        limit: int | None = 50,
        newest_first: bool = True,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        offset: int = 0,
    ) -> list[AuditRecord]:
        """Records matching every filter given (kind and principal exactly, object by substring, time from
        `since` up to but not including `until`), skipping the first `offset` of them: a page of the log."""
        query = sa.select(SqlAuditRecord)
        if kind:
            query = query.where(SqlAuditRecord.kind == kind)
        if principal:
            query = query.where(SqlAuditRecord.principal == principal)
        if object_contains:
            query = query.where(SqlAuditRecord.object.contains(object_contains, autoescape=True))
        # The time is kept as canonical UTC text, which sorts as the moments do.
        if since is not None:
            query = query.where(SqlAuditRecord.at >= timestamp(since))
        if until is not None:
            query = query.where(SqlAuditRecord.at < timestamp(until))
        order = SqlAuditRecord.seq.desc() if newest_first else SqlAuditRecord.seq
        with self._sessions() as session:
            page = query.order_by(order).offset(offset).limit(limit)
            return [_record(r) for r in session.scalars(page)]

    def pages(self, after: int = 0, size: int = 1000) -> Iterator[list[AuditRecord]]:
        """Every record numbered above `after`, in order, `size` at a time."""
        while True:
            with self._sessions() as session:
                rows = session.scalars(
                    sa.select(SqlAuditRecord)
                    .where(SqlAuditRecord.seq > after)
                    .order_by(SqlAuditRecord.seq)
                    .limit(size)
                )
                page = [_record(r) for r in rows]
            if not page:
                return
            yield page
            after = page[-1].seq

    def between(self, low: int, high: int) -> list[AuditRecord]:
        """The records numbered `low` to `high` (inclusive), in order."""
        with self._sessions() as session:
            query = sa.select(SqlAuditRecord).where(SqlAuditRecord.seq.between(low, high))
            return [_record(r) for r in session.scalars(query.order_by(SqlAuditRecord.seq))]


def _record(row: SqlAuditRecord) -> AuditRecord:
    return AuditRecord(**{name: getattr(row, name) for name in COLUMNS})
