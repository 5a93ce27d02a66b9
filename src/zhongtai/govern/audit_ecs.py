"""The audit log as Elastic Common Schema (ECS) events: one JSON object per record, for ELK-style collectors.

Standard fields carry what a SIEM filters on (`@timestamp`, `event.*`, `user.name`, `rule.name`); the chain
itself (number, hashes, object, body) goes under `zhongtai.audit.*`, and the model version a record is
about under `zhongtai.model.*`, so a collector can index the platform's own fields without clashing with
ECS. `event.hash` is the record's hash, the ECS field for proving a log line was not altered.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from zhongtai.govern.audit import AuditKind, AuditRecord

ECS_VERSION = "8.11.0"
_CHANGE = (["configuration"], ["change"])
# ECS allows only its own category and type values; each kind maps to the closest of them.
_CATEGORIES: dict[str, tuple[list[str], list[str]]] = {
    AuditKind.APPLY: _CHANGE,
    AuditKind.KEY_CREATE: (["iam"], ["creation"]),
    AuditKind.KEY_REVOKE: (["iam"], ["deletion"]),
    AuditKind.SUBMIT: _CHANGE,
    AuditKind.APPROVE: (["configuration"], ["change", "allowed"]),
    AuditKind.REJECT: (["configuration"], ["change", "denied"]),
    AuditKind.ARCHIVE: _CHANGE,
    AuditKind.ALIAS_MOVE: _CHANGE,
    AuditKind.ROLLBACK: _CHANGE,
    AuditKind.TRAFFIC_CHANGE: _CHANGE,
    AuditKind.DECISIONS: (["api"], ["access"]),
    AuditKind.REVIEW_ASSIGN: (["configuration"], ["change"]),
    AuditKind.REVIEW_RESOLVE: (["configuration"], ["change"]),
    AuditKind.REVIEW_ESCALATE: (["configuration"], ["change"]),
}


def ecs_event(record: AuditRecord) -> dict[str, Any]:
    """One record as an ECS event."""
    category, types = _CATEGORIES.get(record.kind, (["configuration"], ["info"]))
    body = record.parsed_body()
    event: dict[str, Any] = {
        "@timestamp": record.at,
        "ecs": {"version": ECS_VERSION},
        "message": f"{record.principal} {record.kind} {record.object}".strip(),
        "event": {
            "kind": "event",
            "category": category,
            "type": types,
            "action": record.kind,
            "outcome": "success",  # only what happened is recorded: a refused change leaves no record
            "sequence": record.seq,
            "hash": record.hash,
            "dataset": "zhongtai.audit",
            "module": "zhongtai",
            "provider": "zhongtai",
        },
        "user": {"name": record.principal},
        "rule": {"name": record.rule},
        "zhongtai": {
            "audit": {
                "seq": record.seq,
                "kind": record.kind,
                "object": record.object,
                "hash": record.hash,
                "prev_hash": record.prev_hash,
                "body": body if body is not None else record.body,
            }
        },
    }
    model = _model(body or {})
    if model:
        event["zhongtai"]["model"] = model
    return event


def ecs_lines(records: Iterable[AuditRecord]) -> Iterator[str]:
    """JSON lines (no newline inside an event), one per record."""
    for record in records:
        yield json.dumps(ecs_event(record), ensure_ascii=False, separators=(",", ":")) + "\n"


def _model(body: dict[str, Any]) -> dict[str, Any]:
    """The model version a record is about: a review's version, an alias move's target, a batch's models."""
    if "model" in body:
        version = body.get("version", body.get("to_version"))
        return {"name": body["model"]} | ({"version": version} if version is not None else {})
    if isinstance(body.get("models"), list) and body["models"]:
        return {"versions": body["models"]}
    return {}
