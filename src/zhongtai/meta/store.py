"""The metadata store's operations. Sessions and rows stay in here; callers get records."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from zhongtai.errors import NotFound, ZhongtaiError
from zhongtai.govern.audit import LOCAL_ADMIN, AuditLog, apply_entry, record, watch_commits
from zhongtai.govern.audit_head import HeadExport, database_name, head_file
from zhongtai.meta import db
from zhongtai.meta.access import AccessRecords, DecisionRecords
from zhongtai.meta.drift import DriftRecords
from zhongtai.meta.features import FeatureRecords
from zhongtai.meta.feedback import FeedbackRecords
from zhongtai.meta.identity import IdentityRecords
from zhongtai.meta.models import ModelRecords
from zhongtai.meta.owner import here
from zhongtai.meta.quality import QualityRecords
from zhongtai.meta.records import (
    Change,
    ColumnInfo,
    DatasetSummary,
    DatasetVersion,
    FieldInfo,
    IngestRun,
    NewVersion,
)
from zhongtai.meta.retirement import RetiredDatasets, declared_only, retire
from zhongtai.meta.runs import RunRecords
from zhongtai.meta.tables import (
    SpecObject,
    SqlCapability,
    SqlChange,
    SqlDataset,
    SqlDatasetVersion,
    SqlEntity,
    SqlFeatureGroup,
    SqlFeatureView,
    SqlField,
    SqlIdentity,
    SqlIngestRun,
    SqlModel,
    SqlModelAlias,
    SqlOnDemandView,
    SqlPolicy,
    SqlSource,
    SqlTag,
)
from zhongtai.meta.tags import TagRecords
from zhongtai.meta.time import aware, now
from zhongtai.meta.traffic import TrafficRecords

if TYPE_CHECKING:
    from zhongtai.config import Settings

_KIND_TABLES: dict[str, type[SpecObject]] = {
    "sources": SqlSource,
    "datasets": SqlDataset,
    "entities": SqlEntity,
    "identities": SqlIdentity,
    "tags": SqlTag,
    "feature_views": SqlFeatureView,
    "on_demand_views": SqlOnDemandView,
    "feature_groups": SqlFeatureGroup,
    "models": SqlModel,
    "capabilities": SqlCapability,
    "policies": SqlPolicy,
}
KIND_NOUN = {
    "sources": "source",
    "datasets": "dataset",
    "entities": "entity",
    "identities": "identity",
    "tags": "tag",
    "feature_views": "feature view",
    "on_demand_views": "on-demand view",
    "feature_groups": "feature group",
    "models": "model",
    "capabilities": "capability",
    "policies": "policy",
}
# Creates run in this order and deletes in the reverse, so references always point at something.
KIND_ORDER = (
    "sources",
    "datasets",
    "entities",
    "identities",
    "tags",
    "feature_views",
    "on_demand_views",
    "feature_groups",
    "models",
    "capabilities",
    "policies",
)


class MetadataStore:
    """Everything registered: specs, dataset versions and fields, ingest runs and the change log."""

    def __init__(self, url: str, home: Path | None = None, audit_webhook: str | None = None) -> None:
        """Open (and migrate) the store at `url`. `home` (ZT_HOME) and `audit_webhook` say where the audit
        log's head is exported; a SQLite store exports beside its file even without them."""
        self.url = url
        self.engine = db.create_engine(url)
        db.migrate(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.audit_head = HeadExport(head_file(url, home), audit_webhook, database_name(url))
        watch_commits(self._sessions, self.audit_head)

    @classmethod
    def from_settings(cls, settings: Settings) -> MetadataStore:
        """The store of a configuration, exporting its audit head under ZT_HOME and to ZT_AUDIT_WEBHOOK."""
        return cls(settings.metadata_url, settings.home, settings.audit_webhook)

    def close(self) -> None:
        self.audit_head.flush()
        self.engine.dispose()

    @cached_property
    def features(self) -> FeatureRecords:
        """Feature view builds and training sets."""
        return FeatureRecords(self._sessions)

    @cached_property
    def quality(self) -> QualityRecords:
        """Quality results of ingest runs."""
        return QualityRecords(self._sessions)

    @cached_property
    def tags(self) -> TagRecords:
        """Tag builds: who carries each tag, build by build."""
        return TagRecords(self._sessions)

    @cached_property
    def identities(self) -> IdentityRecords:
        """OneID runs and the current run of each identity."""
        return IdentityRecords(self._sessions, self._dataset_row, self._add_version)

    @cached_property
    def retired(self) -> RetiredDatasets:
        """Datasets removed from the project, kept with their history until purged."""
        return RetiredDatasets(self._sessions)

    @cached_property
    def models(self) -> ModelRecords:
        """Model versions and aliases."""
        return ModelRecords(self._sessions)

    @cached_property
    def feedback(self) -> FeedbackRecords:
        """Outcomes reported for logged decisions."""
        return FeedbackRecords(self._sessions)

    @cached_property
    def traffic(self) -> TrafficRecords:
        """Live traffic splits of capabilities (A/B weights, shadows)."""
        return TrafficRecords(self._sessions)

    @cached_property
    def training_runs(self) -> RunRecords:
        """Experiment runs: every `zhongtai train`, failed ones too."""
        return RunRecords(self._sessions)

    @cached_property
    def access(self) -> AccessRecords:
        """API keys."""
        return AccessRecords(self._sessions)

    @cached_property
    def audit(self) -> AuditLog:
        """The hash-chained audit log (appended inside each change's own transaction)."""
        return AuditLog(self._sessions)

    @cached_property
    def decisions(self) -> DecisionRecords:
        """The decision log."""
        return DecisionRecords(self._sessions)

    @cached_property
    def drift(self) -> DriftRecords:
        """Reference profiles of model versions and drift reports of capabilities."""
        return DriftRecords(self._sessions)

    def spec(self, kind: str, name: str) -> dict[str, Any]:
        """One registered object's spec payload; NotFound names the kind."""
        table = _KIND_TABLES[kind]
        with self._sessions() as session:
            row = session.scalar(declared_only(sa.select(table).where(table.name == name), table))
            if row is None:
                raise NotFound(KIND_NOUN[kind], name)
            return row.spec

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with self._sessions.begin() as session:
            yield session

    # -- declared objects -------------------------------------------------------------------------------

    def registered(self, kind: str) -> dict[str, dict[str, Any]]:
        """Spec payloads of every registered object of a kind, by name."""
        table = _KIND_TABLES[kind]
        with self._sessions() as session:
            return {row.name: row.spec for row in session.scalars(declared_only(sa.select(table), table))}

    def apply(self, changes: list[Change], actor: str, rule: str = LOCAL_ADMIN) -> None:
        """Apply all changes in one transaction, with their audit record (allowed by `rule`); any failure
        leaves the registry as it was."""
        ordered = sorted(
            changes,
            key=lambda c: (
                c.action == "delete",
                KIND_ORDER.index(c.kind) * (-1 if c.action == "delete" else 1),
            ),
        )
        entry = apply_entry(ordered, actor, rule) if ordered else None
        with self.transaction() as session:
            for change in ordered:
                self._apply_one(session, change)
                session.add(
                    SqlChange(
                        at=now(),
                        actor=actor,
                        action=change.action,
                        kind=change.kind,
                        name=change.name,
                        detail=change.spec or {},
                    )
                )
            if entry is not None:
                record(session, entry)

    def _apply_one(self, session: Session, change: Change) -> None:
        table = _KIND_TABLES[change.kind]
        row = session.scalar(sa.select(table).where(table.name == change.name))
        if change.action == "delete":
            if isinstance(row, SqlDataset):
                retire(row)  # its versions and lake files stay until `zhongtai datasets purge`
            elif row is not None:
                session.delete(row)
            session.flush()
            return
        spec = change.spec or {}
        columns: dict[str, Any] = {
            "spec": spec,
            "description": spec.get("description", ""),
            "owner": spec.get("owner"),
            "updated_at": now(),
        }
        if change.kind == "sources":
            columns["type"] = spec["type"]
        if change.kind == "datasets":
            columns["source_id"] = self._source_id(session, change.name, spec)
            columns["retired_at"] = None  # declaring a retired dataset again restores it with its history
        if row is None:
            row = table()
            row.name, row.created_at = change.name, now()
            session.add(row)
        for key, value in columns.items():
            setattr(row, key, value)
        session.flush()

    @staticmethod
    def _source_id(session: Session, dataset: str, spec: dict[str, Any]) -> int | None:
        """The id of the dataset's source; None for a dataset the platform produces (spec `identity`)."""
        if "source" not in spec:
            return None
        found = session.scalar(sa.select(SqlSource.id).where(SqlSource.name == spec["source"]))
        if found is None:
            raise NotFound("source", spec["source"], f"dataset '{dataset}' names it; declare it first")
        return found

    def serving_signal(self) -> tuple[Any, ...]:
        """A cheap fingerprint of what serving depends on: it moves whenever a spec is applied, a change is
        logged or an alias moves, so a gateway polls it and rebuilds only when it moved (one small query)."""
        query = sa.select(
            sa.select(sa.func.max(SqlChange.id)).scalar_subquery(),
            sa.select(sa.func.count()).select_from(SqlModelAlias).scalar_subquery(),
            sa.select(sa.func.max(SqlModelAlias.updated_at)).scalar_subquery(),
            sa.select(sa.func.max(SqlCapability.updated_at)).scalar_subquery(),
        )
        with self._sessions() as session:
            return tuple(session.execute(query).one())

    def changes(self, limit: int = 100) -> list[dict[str, Any]]:
        with self._sessions() as session:
            rows = session.scalars(sa.select(SqlChange).order_by(SqlChange.id.desc()).limit(limit))
            return [
                {"at": aware(r.at), "actor": r.actor, "action": r.action, "kind": r.kind, "name": r.name}
                for r in rows
            ]

    # -- datasets ---------------------------------------------------------------------------------------

    def dataset_spec(self, name: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """The dataset's spec payload and its source's, as applied (None: the platform produces it)."""
        with self._sessions() as session:
            row = self._dataset_row(session, name)
            source = session.get(SqlSource, row.source_id) if row.source_id is not None else None
            return row.spec, source.spec if source is not None else None

    def source_spec(self, name: str) -> dict[str, Any]:
        with self._sessions() as session:
            row = session.scalar(sa.select(SqlSource).where(SqlSource.name == name))
            if row is None:
                raise NotFound("source", name, "zhongtai sources list shows what is registered")
            return row.spec

    def datasets_of_source(self, name: str) -> list[str]:
        with self._sessions() as session:
            query = (
                sa.select(SqlDataset.name)
                .join(SqlSource, SqlSource.id == SqlDataset.source_id)
                .where(SqlSource.name == name, SqlDataset.retired_at.is_(None))
                .order_by(SqlDataset.name)
            )
            return list(session.scalars(query))

    def list_datasets(self) -> list[DatasetSummary]:
        with self._sessions() as session:
            query = (
                sa.select(SqlDataset, SqlSource.name, SqlDatasetVersion)
                .outerjoin(SqlSource, SqlSource.id == SqlDataset.source_id)
                .outerjoin(
                    SqlDatasetVersion,
                    sa.and_(
                        SqlDatasetVersion.dataset_id == SqlDataset.id,
                        SqlDatasetVersion.version == SqlDataset.current_version,
                    ),
                )
                .where(SqlDataset.retired_at.is_(None))
                .order_by(SqlDataset.name)
            )
            return [
                DatasetSummary(
                    name=ds.name,
                    source=source_name or f"identity:{ds.spec.get('identity')}",
                    version=ds.current_version,
                    rows=version.rows if version else None,
                    bytes=version.bytes if version else None,
                    refreshed_at=aware(version.created_at) if version else None,
                    description=ds.description,
                )
                for ds, source_name, version in session.execute(query)
            ]

    def current_version(self, name: str) -> DatasetVersion | None:
        with self._sessions() as session:
            ds = self._dataset_row(session, name)
            if ds.current_version is None:
                return None
            return self._version(session, ds, ds.current_version)

    def version(self, name: str, version: int) -> DatasetVersion:
        with self._sessions() as session:
            return self._version(session, self._dataset_row(session, name), version)

    def versions(self, name: str) -> list[DatasetVersion]:
        with self._sessions() as session:
            ds = self._dataset_row(session, name)
            rows = session.scalars(
                sa.select(SqlDatasetVersion)
                .where(SqlDatasetVersion.dataset_id == ds.id)
                .order_by(SqlDatasetVersion.version)
            )
            return [_to_version(name, row) for row in rows]

    def fields(self, name: str) -> list[FieldInfo]:
        with self._sessions() as session:
            ds = self._dataset_row(session, name)
            rows = session.scalars(
                sa.select(SqlField).where(SqlField.dataset_id == ds.id).order_by(SqlField.position)
            )
            return [
                FieldInfo(name, r.name, r.position, r.type, r.nullable, r.description, r.pii, r.first_version)
                for r in rows
            ]

    def commit_version(
        self, name: str, new: NewVersion, expected_current: int | None, run_id: str, rows_read: int = 0
    ) -> int:
        """Record the next version and make it current, in one transaction; the run is finished with the
        `rows_read` its source returned.

        `expected_current` is the version the ingest started from; if another ingest committed meanwhile,
        this one loses rather than silently overwriting what the other added.
        """
        with self.transaction() as session:
            ds = self._dataset_row(session, name, lock=True)
            if ds.current_version != expected_current:
                raise ZhongtaiError(
                    "conflict",
                    f"dataset '{name}' moved to version {ds.current_version} while this ingest ran "
                    f"(started from {expected_current})",
                    "run the ingest again",
                )
            number = self._add_version(session, ds, new, "ingest", run_id)
            run = session.get(SqlIngestRun, run_id)
            if run is not None:
                run.status, run.finished_at, run.version = "succeeded", now(), number
                run.rows_read = rows_read
            return number

    def _add_version(
        self, session: Session, ds: SqlDataset, new: NewVersion, actor: str, run_id: str | None = None
    ) -> int:
        """Inside a caller's transaction: the dataset's next version, made current, with its fields synced."""
        number = (ds.current_version or 0) + 1
        session.add(
            SqlDatasetVersion(
                dataset_id=ds.id,
                version=number,
                created_at=now(),
                mode=new.mode,
                rows=new.rows,
                rows_added=new.rows_added,
                rows_updated=new.rows_updated,
                rows_removed=new.rows_removed,
                bytes=new.bytes,
                files=new.files,
                schema=[{k: v for k, v in c.__dict__.items() if v is not None} for c in new.schema],
                watermark=new.watermark,
                fingerprint=new.fingerprint,
                schema_changes=new.schema_changes,
                ingest_run_id=run_id,
            )
        )
        self._sync_fields(session, ds, new.schema, number)
        ds.current_version = number
        ds.updated_at = now()
        session.add(
            SqlChange(
                at=now(),
                actor=actor,
                action="version",
                kind="datasets",
                name=ds.name,
                detail={
                    "version": number,
                    "rows": new.rows,
                    "added": new.rows_added,
                    "updated": new.rows_updated,
                    "removed": new.rows_removed,
                },
            )
        )
        return number

    def _sync_fields(self, session: Session, ds: SqlDataset, schema: list[ColumnInfo], version: int) -> None:
        declared = {f["name"]: f for f in ds.spec.get("fields", [])}
        existing = {
            f.name: f for f in session.scalars(sa.select(SqlField).where(SqlField.dataset_id == ds.id))
        }
        for position, column in enumerate(schema):
            spec = declared.get(column.name, {})
            row = existing.pop(column.name, None)
            if row is None:
                row = SqlField(dataset_id=ds.id, name=column.name, first_version=version)
                session.add(row)
            row.position, row.type, row.nullable = position, column.type, column.nullable
            row.description = spec.get("description", row.description or "")
            row.pii = spec.get("pii", row.pii)
        for gone in existing.values():
            session.delete(gone)

    def set_detected_pii(self, name: str, classes: dict[str, str | None]) -> None:
        """Record detected PII classes on fields whose spec declares none (a declared class always wins)."""
        with self.transaction() as session:
            ds = self._dataset_row(session, name)
            declared = {f["name"] for f in ds.spec.get("fields", []) if f.get("pii") is not None}
            for row in session.scalars(sa.select(SqlField).where(SqlField.dataset_id == ds.id)):
                if row.name in classes and row.name not in declared:
                    row.pii = classes[row.name]

    def _dataset_row(self, session: Session, name: str, lock: bool = False) -> SqlDataset:
        query = sa.select(SqlDataset).where(SqlDataset.name == name)
        if lock:
            query = query.with_for_update()
        row = session.scalar(query)
        if row is None:
            raise NotFound("dataset", name, "zhongtai datasets list shows what is registered")
        if row.retired_at is not None:
            raise NotFound(
                "dataset",
                name,
                f"it was removed from the project (retired): declare it again to restore it, or `zhongtai datasets purge {name}`",
            )
        return row

    def _version(self, session: Session, ds: SqlDataset, version: int) -> DatasetVersion:
        row = session.scalar(
            sa.select(SqlDatasetVersion).where(
                SqlDatasetVersion.dataset_id == ds.id, SqlDatasetVersion.version == version
            )
        )
        if row is None:
            raise NotFound("version", f"{ds.name}@{version}")
        return _to_version(ds.name, row)

    # -- ingest runs ------------------------------------------------------------------------------------

    def start_run(self, dataset: str) -> str:
        run_id = str(uuid.uuid4())
        host, pid = here()
        with self.transaction() as session:
            session.add(
                SqlIngestRun(
                    id=run_id,
                    dataset_name=dataset,
                    status="running",
                    started_at=now(),
                    host=host,
                    pid=pid,
                    rows_read=0,
                )
            )
        return run_id

    def finish_run(self, run_id: str, status: str, rows_read: int, message: str | None = None) -> None:
        with self.transaction() as session:
            run = session.get(SqlIngestRun, run_id)
            if run is not None and run.status == "running":
                run.status, run.finished_at, run.rows_read, run.message = status, now(), rows_read, message

    def runs(self, dataset: str | None = None, status: str | None = None, limit: int = 50) -> list[IngestRun]:
        with self._sessions() as session:
            query = sa.select(SqlIngestRun).order_by(SqlIngestRun.started_at.desc()).limit(limit)
            if dataset:
                query = query.where(SqlIngestRun.dataset_name == dataset)
            if status:
                query = query.where(SqlIngestRun.status == status)
            return [
                IngestRun(
                    r.id,
                    r.dataset_name,
                    r.status,
                    aware(r.started_at),
                    aware(r.finished_at),
                    r.host,
                    r.pid,
                    r.rows_read,
                    r.version,
                    r.message,
                )
                for r in session.scalars(query)
            ]


def _to_version(name: str, row: SqlDatasetVersion) -> DatasetVersion:
    return DatasetVersion(
        dataset=name,
        version=row.version,
        created_at=aware(row.created_at),
        mode=row.mode,
        rows=row.rows,
        rows_added=row.rows_added,
        rows_updated=row.rows_updated,
        rows_removed=row.rows_removed,
        bytes=row.bytes,
        files=list(row.files),
        schema=[ColumnInfo(**c) for c in row.schema],
        watermark=row.watermark,
        fingerprint=row.fingerprint,
        schema_changes=list(row.schema_changes),
    )
