"""Plain domain objects handed out by the metadata store."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

# An alias is at most 63 characters (models/registry.py ALIAS_PATTERN, spec/models.py AliasName); every
# alias column holds that many.
ALIAS_LENGTH = 63


@dataclass(frozen=True)
class ColumnInfo:
    name: str
    type: str
    nullable: bool = True
    # PII columns only (docs/pii.md): token, encrypted (the token; the ciphertext is in `<name>__encrypted`,
    # whose storage is ciphertext) or clear; and the id of the PII key the values were written under.
    storage: str | None = None
    key_id: str | None = None


@dataclass(frozen=True)
class DatasetVersion:
    """One immutable snapshot of a dataset."""

    dataset: str
    version: int
    created_at: datetime
    mode: str
    rows: int
    rows_added: int
    rows_updated: int
    rows_removed: int
    bytes: int
    files: list[str]
    schema: list[ColumnInfo]
    watermark: str | None
    fingerprint: str
    schema_changes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "version": self.version,
            "created_at": self.created_at.isoformat(),
            "mode": self.mode,
            "rows": self.rows,
            "rows_added": self.rows_added,
            "rows_updated": self.rows_updated,
            "rows_removed": self.rows_removed,
            "bytes": self.bytes,
            "files": self.files,
            "schema": [
                {"name": c.name, "type": c.type, "nullable": c.nullable, "storage": c.storage or "clear"}
                | ({"key_id": c.key_id} if c.key_id else {})
                for c in self.schema
            ],
            "watermark": self.watermark,
            "schema_changes": self.schema_changes,
        }


@dataclass(frozen=True)
class NewVersion:
    """What an ingest hands to the store to commit as the next version."""

    mode: str
    rows: int
    rows_added: int
    rows_updated: int
    rows_removed: int
    bytes: int
    files: list[str]
    schema: list[ColumnInfo]
    watermark: str | None
    fingerprint: str
    schema_changes: list[str]


@dataclass(frozen=True)
class FieldInfo:
    dataset: str
    name: str
    position: int
    type: str
    nullable: bool
    description: str
    pii: str | None
    first_version: int


@dataclass(frozen=True)
class DatasetSummary:
    name: str
    source: str
    version: int | None
    rows: int | None
    bytes: int | None
    refreshed_at: datetime | None
    description: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "source": self.source,
            "version": self.version,
            "rows": self.rows,
            "bytes": self.bytes,
            "refreshed_at": self.refreshed_at.isoformat() if self.refreshed_at else None,
            "description": self.description,
        }


@dataclass(frozen=True)
class IngestRun:
    id: str
    dataset: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    host: str
    pid: int
    rows_read: int
    version: int | None
    message: str | None


@dataclass(frozen=True)
class Change:
    """One step of a plan as the store applies it."""

    kind: str  # sources | datasets | entities
    action: str  # create | update | delete
    name: str
    spec: dict[str, Any] | None


@dataclass(frozen=True)
class FeatureBuild:
    """One computed offline history of a feature view."""

    view: str
    build: int
    created_at: datetime
    rows: int
    files: list[str]
    schema: list[ColumnInfo]
    inputs: dict[str, int]
    max_timestamp: str | None
    materialized_at: datetime | None = None


@dataclass(frozen=True)
class TrainingSet:
    id: str
    model: str
    created_at: datetime
    rows: int
    files: list[str]
    lineage: dict[str, Any]


class ModelStatus(StrEnum):
    """Where a model version stands in review; the transitions between them are models/review.py's table."""

    REGISTERED = "registered"
    PENDING_REVIEW = "pending_review"
    APPROVED = "approved"
    REJECTED = "rejected"
    ARCHIVED = "archived"


@dataclass(frozen=True)
class ModelVersion:
    model: str
    version: int
    created_at: datetime
    artifact: str
    artifact_format: str
    features: list[str]
    params: dict[str, Any]
    metrics: dict[str, Any]
    training_set_id: str | None
    code_version: str
    status: ModelStatus
    aliases: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        body = dict(self.__dict__)
        body["created_at"] = self.created_at.isoformat()
        return body


@dataclass(frozen=True)
class ModelReview:
    """One review step of a version: who moved it from which status to which, when, with what comment."""

    model: str
    version: int
    action: str
    from_status: ModelStatus
    to_status: ModelStatus
    principal: str
    at: datetime
    comment: str

    def to_dict(self) -> dict[str, Any]:
        body = dict(self.__dict__)
        body["at"] = self.at.isoformat()
        return body


@dataclass(frozen=True)
class AliasMove:
    """One move of an alias: from which version to which (None: unset), by whom, when and why."""

    model: str
    alias: str
    from_version: int | None
    to_version: int | None
    action: str  # set | remove | rollback
    principal: str
    at: datetime
    reason: str

    def to_dict(self) -> dict[str, Any]:
        body = dict(self.__dict__)
        body["at"] = self.at.isoformat()
        return body


@dataclass(frozen=True)
class ApiKey:
    name: str
    prefix: str
    roles: list[str]
    created_at: datetime
    revoked_at: datetime | None
    owner: str | None = None
    workspace: str | None = None
    scopes: list[str] | None = None
    expires_at: datetime | None = None
    previous_until: datetime | None = None  # the rotated-out key works until then

    def to_dict(self) -> dict[str, Any]:
        """The key as listings show it (CLI `--json`, the gateway): never a secret, only its prefix."""
        return {
            "name": self.name,
            "prefix": self.prefix,
            "roles": list(self.roles),
            "workspace": self.workspace,
            "owner": self.owner,
            "scopes": list(self.scopes or ()),
            "created_at": self.created_at.isoformat(),
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
            "previous_until": self.previous_until.isoformat() if self.previous_until else None,
        }


@dataclass(frozen=True)
class ActiveKey:
    """What a gateway keeps in memory for one valid key hash (a rotated key's old hash too)."""

    name: str
    roles: tuple[str, ...]
    workspace: str | None
    scopes: tuple[str, ...]
    expires_at: datetime | None


@dataclass(frozen=True)
class DecisionRecord:
    """One decision as the log keeps it."""

    id: str
    at: datetime
    capability: str
    principal: str
    model_name: str | None
    model_version: int | None
    decision: str
    score: float | None
    fallback: bool
    inputs: dict[str, Any]
    features: dict[str, Any]
    latency_ms: float
    output: dict[str, Any] | None = None  # a task's answer beyond decision and score
    arm: str | None = None  # the traffic arm that answered, or the shadow that scored
    shadow_of: str | None = None  # a shadow's record: the id of the answer it was scored beside
    fallback_reason: str | None = (
        None  # why a fallback answered: no_features, model_error, online_unavailable...
    )


@dataclass(frozen=True)
class TagBuild:
    """One computation of a tag: its members and the changes since the build before."""

    tag: str
    build: int
    created_at: datetime
    members: int
    gained: int
    lost: int
    members_files: list[str]
    events_files: list[str]
    inputs: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        body = dict(self.__dict__)
        body["created_at"] = self.created_at.isoformat()
        return body


@dataclass(frozen=True)
class NewIdentityRun:
    """What a finished OneID run hands to the store to publish."""

    id: str
    identity: str
    location: str  # the run's folder in the lake
    inputs: dict[str, int]
    stats: dict[str, Any]
    records: int
    persons: int
    merges: int
    splits: int
    next_id: int


@dataclass(frozen=True)
class IdentityRun:
    """A published OneID run."""

    id: str
    identity: str
    created_at: datetime
    location: str
    inputs: dict[str, int]
    stats: dict[str, Any]
    records: int
    persons: int
    merges: int
    splits: int
    next_id: int
    current: bool = False

    def to_dict(self) -> dict[str, Any]:
        body = dict(self.__dict__)
        body["created_at"] = self.created_at.isoformat()
        return body


@dataclass(frozen=True)
class RunOutcome:
    """What a training run hands to the store when it ends (finished or failed)."""

    duration_s: float
    peak_memory_kb: int
    params: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    candidates: list[dict[str, Any]] = field(default_factory=list)
    training_set_id: str | None = None
    datasets: dict[str, int] = field(default_factory=dict)
    artifacts: list[str] = field(default_factory=list)
    card: dict[str, Any] | None = None


@dataclass(frozen=True)
class Run:
    """One training attempt as recorded; `status` is what the store holds (see models/runs.py for `died`)."""

    id: str
    model: str
    status: str
    principal: str
    host: str
    pid: int
    started_at: datetime
    ended_at: datetime | None
    duration_s: float | None
    peak_memory_kb: int | None
    code_version: str
    params: dict[str, Any]
    metrics: dict[str, Any]
    candidates: list[dict[str, Any]]
    training_set_id: str | None
    datasets: dict[str, int]
    artifacts: list[str]
    version: int | None
    error_code: str | None
    error_message: str | None
    card: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        body = dict(self.__dict__)
        body.pop("card")
        body["started_at"] = self.started_at.isoformat()
        body["ended_at"] = self.ended_at.isoformat() if self.ended_at else None
        return body
