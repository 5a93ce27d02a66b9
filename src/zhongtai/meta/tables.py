"""SQLAlchemy tables of the metadata store. Rows stay inside meta/; callers get plain domain objects."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, BigInteger, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from zhongtai.meta.records import ALIAS_LENGTH


class Base(DeclarativeBase):
    type_annotation_map: ClassVar = {dict[str, Any]: JSON, list[Any]: JSON, datetime: DateTime(timezone=True)}


class SpecObject:
    """Columns every declared object shares: its name, its spec as applied, and when it changed."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    spec: Mapped[dict[str, Any]]
    description: Mapped[str] = mapped_column(Text, default="")
    owner: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class SqlSource(SpecObject, Base):
    __tablename__ = "sources"
    type: Mapped[str] = mapped_column(String(32))


class SqlDataset(SpecObject, Base):
    """A dataset: pulled from a source, or produced by the platform (no source; its spec says by what).

    A dataset removed from the project is retired, not deleted: `retired_at` is set and the row keeps its
    versions, fields and runs until an explicit purge, so declaring the name again restores its history.
    """

    __tablename__ = "datasets"
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id", ondelete="RESTRICT"), index=True)
    current_version: Mapped[int | None] = mapped_column(Integer)
    retired_at: Mapped[datetime | None]


class SqlDatasetVersion(Base):
    """One immutable snapshot: the data files that make it up, its counts, schema and watermark."""

    __tablename__ = "dataset_versions"
    __table_args__ = (UniqueConstraint("dataset_id", "version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]
    mode: Mapped[str] = mapped_column(String(16))
    rows: Mapped[int] = mapped_column(BigInteger)
    rows_added: Mapped[int] = mapped_column(BigInteger)
    rows_updated: Mapped[int] = mapped_column(BigInteger)
    rows_removed: Mapped[int] = mapped_column(BigInteger)
    bytes: Mapped[int] = mapped_column(BigInteger)
    files: Mapped[list[Any]]
    schema: Mapped[list[Any]]
    watermark: Mapped[str | None] = mapped_column(String(64))
    fingerprint: Mapped[str] = mapped_column(String(64))
    schema_changes: Mapped[list[Any]]
    ingest_run_id: Mapped[str | None] = mapped_column(String(36))


class SqlField(Base):
    """A column of a dataset's current version, with what the catalog says about it."""

    __tablename__ = "fields"
    __table_args__ = (UniqueConstraint("dataset_id", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(256))
    position: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(64))
    nullable: Mapped[bool]
    description: Mapped[str] = mapped_column(Text, default="")
    pii: Mapped[str | None] = mapped_column(String(64))  # a class, or `text:` and the kinds in free text
    first_version: Mapped[int] = mapped_column(Integer)


class SqlEntity(SpecObject, Base):
    __tablename__ = "entities"


class SqlIngestRun(Base):
    """An attempt to ingest a dataset; a run that never finished is found and cleaned by the next one."""

    __tablename__ = "ingest_runs"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    dataset_name: Mapped[str] = mapped_column(String(128), index=True)
    status: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    rows_read: Mapped[int] = mapped_column(BigInteger, default=0)
    version: Mapped[int | None] = mapped_column(Integer)
    message: Mapped[str | None] = mapped_column(Text)


class SqlChange(Base):
    """Every change to the registry (apply steps, new versions), in order: the base of the audit trail."""

    __tablename__ = "changes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(128))
    detail: Mapped[dict[str, Any]]


class SqlFeatureView(SpecObject, Base):
    __tablename__ = "feature_views"


class SqlOnDemandView(SpecObject, Base):
    """Features computed at request time from request fields and stored features."""

    __tablename__ = "on_demand_views"


class SqlFeatureGroup(SpecObject, Base):
    """A named set of features across views that models and capabilities ask for by name."""

    __tablename__ = "feature_groups"


class SqlFeatureBuild(Base):
    """One computation of a feature view's offline history: its files in the lake and the inputs it read."""

    __tablename__ = "feature_builds"
    __table_args__ = (UniqueConstraint("view_name", "build"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    view_name: Mapped[str] = mapped_column(String(128), index=True)
    build: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]
    rows: Mapped[int] = mapped_column(BigInteger)
    files: Mapped[list[Any]]
    schema: Mapped[list[Any]]
    inputs: Mapped[dict[str, Any]]  # dataset name -> version read
    max_timestamp: Mapped[str | None] = mapped_column(String(64))
    materialized_at: Mapped[datetime | None]


class SqlTrainingSet(Base):
    """Labels joined point-in-time with feature views, saved with the lineage needed to rebuild it."""

    __tablename__ = "training_sets"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    model_name: Mapped[str] = mapped_column(String(128), index=True)
    created_at: Mapped[datetime]
    rows: Mapped[int] = mapped_column(BigInteger)
    files: Mapped[list[Any]]
    lineage: Mapped[dict[str, Any]]


class SqlModel(SpecObject, Base):
    __tablename__ = "models"


class SqlModelVersion(Base):
    """A trained artifact (in a safe format) with its metrics, parameters and lineage."""

    __tablename__ = "model_versions"
    __table_args__ = (UniqueConstraint("model_name", "version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model_name: Mapped[str] = mapped_column(String(128), index=True)
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]
    artifact: Mapped[str] = mapped_column(Text)
    artifact_format: Mapped[str] = mapped_column(String(32))
    features: Mapped[list[Any]]
    params: Mapped[dict[str, Any]]
    metrics: Mapped[dict[str, Any]]
    training_set_id: Mapped[str | None] = mapped_column(String(36))
    code_version: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))


class SqlModelAlias(Base):
    """Where each alias of a model points now: the row serving reads (and polls for moves)."""

    __tablename__ = "model_aliases"
    model_name: Mapped[str] = mapped_column(String(128), primary_key=True)
    alias: Mapped[str] = mapped_column(String(ALIAS_LENGTH), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime]


# -- model review and alias history (models/review.py, models/aliases.py) ---------------------------------


class SqlModelReview(Base):
    """One review step of a model version (submit, approve, reject, archive): who, when, why, from, to.

    Written in the transaction that changes `model_versions.status`, so every status has its record.
    """

    __tablename__ = "model_reviews"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model_name: Mapped[str] = mapped_column(String(128))
    version: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(16))
    from_status: Mapped[str] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    principal: Mapped[str] = mapped_column(String(128))
    at: Mapped[datetime]
    comment: Mapped[str] = mapped_column(Text, default="")
    __table_args__ = (Index("ix_model_reviews_model_version", "model_name", "version"),)


class SqlAliasMove(Base):
    """Every move of every alias, appended in the transaction that moves it; a None side is 'unset'."""

    __tablename__ = "model_alias_moves"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model_name: Mapped[str] = mapped_column(String(128))
    alias: Mapped[str] = mapped_column(String(ALIAS_LENGTH))
    from_version: Mapped[int | None] = mapped_column(Integer)
    to_version: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(16))  # set | remove | rollback
    principal: Mapped[str] = mapped_column(String(128))
    at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(Text, default="")
    __table_args__ = (Index("ix_model_alias_moves_model_alias", "model_name", "alias"),)


class SqlCapability(SpecObject, Base):
    __tablename__ = "capabilities"


class SqlPolicy(SpecObject, Base):
    __tablename__ = "policies"


class SqlTrafficSplit(Base):
    """A capability's live traffic policy, set by `capabilities split` or HTTP; it overrides the spec's
    `traffic` until reset. One row per capability; every change is also in the change log."""

    __tablename__ = "traffic_splits"
    capability: Mapped[str] = mapped_column(String(128), primary_key=True)
    policy: Mapped[dict[str, Any]]
    principal: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]
    state: Mapped[dict[str, Any] | None]  # a canary ramp's step and status


class SqlApiKey(Base):
    """An API key: only its SHA-256 is kept; the prefix finds it without scanning every hash."""

    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    prefix: Mapped[str] = mapped_column(String(16), index=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    roles: Mapped[list[Any]]
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    owner: Mapped[str | None] = mapped_column(String(128))
    workspace: Mapped[str | None] = mapped_column(String(64))
    scopes: Mapped[list[Any] | None]
    expires_at: Mapped[datetime | None]
    # A rotated key's previous hash stays valid until `previous_until` (the rotation's grace period).
    previous_hash: Mapped[str | None] = mapped_column(String(64))
    previous_until: Mapped[datetime | None]


class SqlDecision(Base):
    """One answer of a capability, with what it saw and which model version gave it."""

    __tablename__ = "decisions"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    capability: Mapped[str] = mapped_column(String(128), index=True)
    principal: Mapped[str] = mapped_column(String(128))
    model_name: Mapped[str | None] = mapped_column(String(128))
    model_version: Mapped[int | None] = mapped_column(Integer)
    decision: Mapped[str] = mapped_column(String(64))
    score: Mapped[float | None]
    fallback: Mapped[bool]
    inputs: Mapped[dict[str, Any]]
    features: Mapped[dict[str, Any]]
    latency_ms: Mapped[float]
    output: Mapped[dict[str, Any] | None]  # a task's answer beyond decision and score
    arm: Mapped[str | None] = mapped_column(String(63))  # the traffic arm (or shadow) that answered
    shadow_of: Mapped[str | None] = mapped_column(String(36), index=True)  # the answer a shadow scored beside
    fallback_reason: Mapped[str | None] = mapped_column(String(63))  # why a fallback answered
    # The log is read newest first a page at a time, of all or of one capability (keyset on at, id).
    __table_args__ = (
        Index("ix_decisions_at_id", "at", "id"),
        Index("ix_decisions_capability_at_id", "capability", "at", "id"),
    )


class SqlFeedback(Base):
    """An outcome reported for a logged decision: one per decision and kind (a repeat with the same value is
    a no-op, a different value a conflict)."""

    __tablename__ = "feedback"
    __table_args__ = (UniqueConstraint("decision_id", "kind", name="uq_feedback_decision_kind"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    decision_id: Mapped[str] = mapped_column(String(36), index=True)
    capability: Mapped[str] = mapped_column(String(128), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    value: Mapped[dict[str, Any]]  # {"value": ...}: JSON of a boolean, number or short text
    principal: Mapped[str] = mapped_column(String(128))
    comment: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(index=True)


class SqlReviewItem(Base):
    """A decision routed to human review, waiting in its capability's queue (one item per decision, keyed
    by the decision's id). `verdict` and `value` are set once, when a reviewer resolves it."""

    __tablename__ = "review_items"
    decision_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    capability: Mapped[str] = mapped_column(String(128), index=True)
    queue: Mapped[str] = mapped_column(String(128), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)  # open | assigned | escalated | done
    assignee: Mapped[str | None] = mapped_column(String(128), index=True)
    created_at: Mapped[datetime]
    deadline: Mapped[datetime] = mapped_column(index=True)
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(128))
    verdict: Mapped[str | None] = mapped_column(String(16))  # accept | correct
    value: Mapped[dict[str, Any] | None]  # {"value": ...}: the class a correction names


class SqlQualityRun(Base):
    """The quality results of one ingest run, keyed by the run; a version reaches them by its run id.

    Written just before the version commits: until `dataset_versions.ingest_run_id` names the run, no
    version shows these results, so readers never see quality figures of a version that was not made.
    """

    __tablename__ = "quality_runs"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # the ingest run's id
    dataset_name: Mapped[str] = mapped_column(String(128), index=True)
    at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16))  # passed | warned | blocked
    rows_in: Mapped[int] = mapped_column(BigInteger)
    rows_kept: Mapped[int] = mapped_column(BigInteger)
    rows_quarantined: Mapped[int] = mapped_column(BigInteger)
    rows_deduped: Mapped[int] = mapped_column(BigInteger)
    quarantine_files: Mapped[list[Any]]
    results: Mapped[list[Any]]  # one RuleResult dict per rule
    message: Mapped[str | None] = mapped_column(Text)


class SqlTag(SpecObject, Base):
    __tablename__ = "tags"


class SqlTagBuild(Base):
    """One computation of a tag: how many carry it, who gained and lost it, and where the lists are."""

    __tablename__ = "tag_builds"
    __table_args__ = (UniqueConstraint("tag_name", "build"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tag_name: Mapped[str] = mapped_column(String(128), index=True)
    build: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]
    members: Mapped[int] = mapped_column(BigInteger)
    gained: Mapped[int] = mapped_column(BigInteger)
    lost: Mapped[int] = mapped_column(BigInteger)
    members_files: Mapped[list[Any]]
    events_files: Mapped[list[Any]]
    inputs: Mapped[dict[str, Any]]


class SqlIdentity(SpecObject, Base):
    """A OneID configuration: which datasets hold people and which columns identify them."""

    __tablename__ = "identities"


class SqlIdentityRun(Base):
    """One published OneID run: the dataset versions it read, its figures and the id counter after it."""

    __tablename__ = "identity_runs"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    identity_name: Mapped[str] = mapped_column(String(128), index=True)
    created_at: Mapped[datetime]
    location: Mapped[str] = mapped_column(Text)  # the run's folder in the lake
    inputs: Mapped[dict[str, Any]]  # dataset name -> version read
    stats: Mapped[dict[str, Any]]
    records: Mapped[int] = mapped_column(BigInteger)
    persons: Mapped[int] = mapped_column(BigInteger)
    merges: Mapped[int] = mapped_column(Integer)
    splits: Mapped[int] = mapped_column(Integer)
    next_id: Mapped[int] = mapped_column(BigInteger)  # the next person number to mint


class SqlIdentityCurrent(Base):
    """Which run of an identity is current: moved in the transaction that records the run."""

    __tablename__ = "identity_current"
    identity_name: Mapped[str] = mapped_column(String(128), primary_key=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("identity_runs.id", ondelete="RESTRICT"))
    updated_at: Mapped[datetime]


# -- experiment runs (docs/models.md "Runs") -------------------------------------------------------------


class SqlRun(Base):
    """One training attempt: written `running` first, completed in the transaction that registers its version.

    A run whose process died stays `running`; its host and pid tell a reader on that host it is gone.
    """

    __tablename__ = "runs"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    model_name: Mapped[str] = mapped_column(String(128), index=True)
    status: Mapped[str] = mapped_column(String(16))  # running | finished | failed
    principal: Mapped[str] = mapped_column(String(128))
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(index=True)
    ended_at: Mapped[datetime | None]
    duration_s: Mapped[float | None]
    peak_memory_kb: Mapped[int | None] = mapped_column(BigInteger)
    code_version: Mapped[str] = mapped_column(String(64))
    params: Mapped[dict[str, Any]]
    metrics: Mapped[dict[str, Any]]
    candidates: Mapped[list[Any]]
    training_set_id: Mapped[str | None] = mapped_column(String(36))
    datasets: Mapped[dict[str, Any]]  # dataset name -> version under the training set
    artifacts: Mapped[list[Any]]
    version: Mapped[int | None] = mapped_column(Integer)  # the model version it registered
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)
    card: Mapped[dict[str, Any] | None]  # the model card of the version it registered


# -- the audit log (govern/audit.py) ---------------------------------------------------------------------


class SqlAuditRecord(Base):
    """One record of the append-only, hash-chained audit log: a change or a batch of decisions.

    Every column but `hash` is text or an integer exactly as hashed (the time as canonical UTC ISO text, the
    body as canonical JSON text), so what the database holds is what the hash covers, byte for byte. No index
    but the key: appends stay cheap, and a plain scan of the table reads it in chain order.
    """

    __tablename__ = "audit_log"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(32))
    principal: Mapped[str] = mapped_column(String(128))
    rule: Mapped[str] = mapped_column(String(128))
    object: Mapped[str] = mapped_column(String(256))
    body: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


# -- drift (monitor/) ------------------------------------------------------------------------------------


class SqlReferenceProfile(Base):
    """Where a model version's reference profile is (monitor/profile.py): written in the transaction that
    registers the version, so a version has its profile row from its first moment or never."""

    __tablename__ = "reference_profiles"
    model_name: Mapped[str] = mapped_column(String(128), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    location: Mapped[str] = mapped_column(Text)
    rows: Mapped[int] = mapped_column(BigInteger)
    features: Mapped[list[Any]]  # the profiled feature names
    created_at: Mapped[datetime]


class SqlDriftReport(Base):
    """One drift check of a capability's decisions in a window against a model version's reference."""

    __tablename__ = "drift_reports"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    capability: Mapped[str] = mapped_column(String(128))
    model_name: Mapped[str] = mapped_column(String(128))
    model_version: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime]
    window_start: Mapped[datetime]
    window_end: Mapped[datetime]
    decisions: Mapped[int] = mapped_column(BigInteger)
    verdict: Mapped[str] = mapped_column(String(16))  # the worst column's: ok | drift | major | no data
    drifted: Mapped[int] = mapped_column(Integer)  # columns flagged
    results: Mapped[list[Any]]  # one ColumnDrift dict per column, the score last
    thresholds: Mapped[dict[str, Any]]
    __table_args__ = (Index("ix_drift_reports_capability_at", "capability", "at"),)


class SqlAlert(Base):
    """One alert (a name and labels) and where it stands: firing or resolved, and when receivers were last told,
    so a repeated raise is not sent again before the repeat interval."""

    __tablename__ = "alerts"
    fingerprint: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(128), index=True)
    labels: Mapped[dict[str, Any]]
    severity: Mapped[str] = mapped_column(String(16))
    summary: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), index=True)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime | None]
    last_raised_at: Mapped[datetime]
    notified_at: Mapped[datetime | None]
    raised: Mapped[int] = mapped_column(Integer)


# -- scheduler (scheduler/) -------------------------------------------------------------------------------


class SqlJobLease(Base):
    """Which scheduler holds a job, until when, for which due run; claimed by compare-and-set (meta/jobs.py)."""

    __tablename__ = "job_leases"
    job: Mapped[str] = mapped_column(String(128), primary_key=True)
    owner: Mapped[str | None] = mapped_column(String(128))  # None: nobody holds it
    expires_at: Mapped[datetime | None]
    slot: Mapped[datetime | None]  # the due time of the run held (or last held)
    done_slot: Mapped[datetime | None]  # the due time of the newest run that finished, well or not


class SqlJobRun(Base):
    """One run of a scheduled job. `error_kind` is an error code or exception type, never a message."""

    __tablename__ = "job_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job: Mapped[str] = mapped_column(String(128))
    slot: Mapped[datetime]
    owner: Mapped[str] = mapped_column(String(128))
    trigger: Mapped[str] = mapped_column(String(16))  # schedule | manual
    status: Mapped[str] = mapped_column(String(16))  # running | succeeded | failed | abandoned
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    error_kind: Mapped[str | None] = mapped_column(String(64))
    __table_args__ = (Index("ix_job_runs_job_started", "job", "started_at"),)


class SqlFlywheelRun(Base):
    """One flywheel run of a model (flywheel/retrain.py): its state, its steps with their evidence, and the
    lease of the process advancing it. `open_model` is the model's name while the run is open (NULL once it
    ends), so a model has at most one open run."""

    __tablename__ = "flywheel_runs"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    model_name: Mapped[str] = mapped_column(String(128))
    capability: Mapped[str] = mapped_column(String(128))
    open_model: Mapped[str | None] = mapped_column(String(128), unique=True)
    state: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)
    trigger: Mapped[dict[str, Any]]
    champion_version: Mapped[int | None] = mapped_column(Integer)
    challenger_version: Mapped[int | None] = mapped_column(Integer)
    triggered_by: Mapped[str] = mapped_column(String(128))
    steps: Mapped[list[Any]]  # {state, at, principal, evidence} per step, oldest first
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]
    __table_args__ = (Index("ix_flywheel_runs_model_created", "model_name", "created_at"),)
