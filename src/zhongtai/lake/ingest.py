"""`zhongtai ingest`: pull a dataset from its source into the lake as the next immutable version.

Atomicity: rows are staged under `_staging/<run>` and published with one rename, then the version is
committed in the metadata store in one transaction. Quality rules run on the staged rows before anything is
published: failing rows are published to `_quarantine/<dataset>/<run>` with the version, and a blocking
dataset check stops the run before anything is published. Fields with a declared PII class are then
protected (tokens, and encrypted copies where the spec asks; docs/pii.md) in both the kept and the
quarantined rows, so only the run's staging folder, removed when the run ends, ever holds them in clear.
A crash at any point leaves the previous version current; the next ingest of the dataset finds the dead
run and removes what it left behind.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa
from pydantic import TypeAdapter

from zhongtai.config import Settings
from zhongtai.connect import open_connector
from zhongtai.errors import ZhongtaiError
from zhongtai.govern.keys import PiiKeys, load_keys
from zhongtai.govern.protection import Protection, annotate, protect_batch, protections
from zhongtai.lake import engine, merge
from zhongtai.lake.failures import data_error, failed_message
from zhongtai.lake.parts import PartWriter
from zhongtai.lake.schema import SchemaChange, columns_of, compare, merged
from zhongtai.lake.storage import LakeStorage
from zhongtai.meta.owner import gone
from zhongtai.meta.quality import QualityRun
from zhongtai.meta.records import DatasetVersion, NewVersion
from zhongtai.meta.store import MetadataStore
from zhongtai.meta.time import now
from zhongtai.quality.results import QualityBlocked, QualityOutcome
from zhongtai.quality.runner import check_rows, has_row_rules, staging_spec
from zhongtai.quality.version_rules import check_version
from zhongtai.spec.models import DatasetSpec, SourceSpec

Progress = Callable[[int], None]
BATCH_ROWS = 100_000


@dataclass
class IngestResult:
    dataset: str
    version: int | None
    created: bool
    rows_read: int
    rows: int
    rows_added: int = 0
    rows_updated: int = 0
    rows_removed: int = 0
    duplicates_dropped: int = 0
    schema_changes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    rows_quarantined: int = 0  # failed a quality rule: in the run's quarantine, not in the version
    rows_deduped: int = 0  # older rows of a `dedupe` key
    warnings: list[str] = field(default_factory=list)  # rules with on_fail: warn that failed
    note: str | None = None  # why no version was made, kept with the run

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def ingest(
    store: MetadataStore,
    storage: LakeStorage,
    name: str,
    *,
    full: bool = False,
    accept_schema_change: bool = False,
    on_progress: Progress | None = None,
    environ: Mapping[str, str] | None = None,
    pii_keys: PiiKeys | None = None,
) -> IngestResult:
    """Read the dataset from its source and commit a new version if anything changed.

    `pii_keys` protect the dataset's PII fields; by default they are loaded from `ZT_PII_KEY` or
    `ZT_HOME/pii.key` (read from `environ`), and only when the dataset has such a field."""
    started = time.perf_counter()
    spec_payload, source_payload = store.dataset_spec(name)
    if source_payload is None:
        raise _produced(name, spec_payload)
    dataset = DatasetSpec.model_validate(spec_payload)
    protected = protections(dataset)
    if protected and pii_keys is None:
        pii_keys = load_keys(Settings.from_env(dict(environ) if environ is not None else None).home, environ)
    job = _Job(
        store=store,
        storage=storage,
        dataset=dataset,
        source=TypeAdapter(SourceSpec).validate_python(source_payload),
        current=store.current_version(name),
        accept_schema_change=accept_schema_change,
        on_progress=on_progress,
        environ=environ,
        protected=protected,
        keys=pii_keys,
    )
    recover_interrupted(store, storage, name)
    job.run_id = store.start_run(name)
    try:
        result = job.run(full)
    except BaseException as exc:
        storage.remove(job.staging)
        storage.remove(job.final)
        storage.remove(job.quarantine)
        failure = data_error(exc, f"dataset '{name}'")
        store.finish_run(
            job.run_id, "failed", job.rows_read, failure.message if failure else failed_message(exc)
        )
        if failure is not None and failure is not exc:
            raise failure from None
        raise
    storage.remove(job.staging)
    if not result.created:
        note = result.note
        if result.rows_quarantined:
            # No version holds them, but they are still at the source and are read again next time.
            note = f"{result.rows_quarantined} rows failed quality checks; the kept rows equal the current version"
        store.finish_run(job.run_id, "unchanged", result.rows_read, note)
    result.seconds = round(time.perf_counter() - started, 3)
    return result


@dataclass
class _Job:
    """One ingest of one dataset: stage what the source returns, compare with the current version, commit."""

    store: MetadataStore
    storage: LakeStorage
    dataset: DatasetSpec
    source: Any
    current: DatasetVersion | None
    accept_schema_change: bool
    on_progress: Progress | None
    environ: Mapping[str, str] | None
    protected: list[Protection] = field(default_factory=list)
    keys: PiiKeys | None = None
    run_id: str = ""
    rows_read: int = 0

    @property
    def staging(self) -> str:
        return self.storage.staging(self.run_id)

    @property
    def final(self) -> str:
        return self.storage.dataset_dir(self.dataset.name, self.run_id)

    @property
    def quarantine(self) -> str:
        return quarantine_dir(self.storage, self.dataset.name, self.run_id)

    @property
    def where(self) -> str:
        return f"dataset '{self.dataset.name}'"

    def run(self, full: bool) -> IngestResult:
        current = self.current
        watermark = self.dataset.incremental.watermark if self.dataset.incremental else None
        incremental = bool(watermark) and current is not None and not full and current.watermark is not None
        since = _parse_watermark(current, watermark) if incremental else None
        staged = self._stage(since)
        if not staged:
            return self._empty_batch(incremental)
        staged, outcome = self._check_rows(staged, incremental, watermark)
        staged = self._protect(staged, incremental, outcome)
        new_columns = annotate(
            columns_of(_unified_schema(self.storage, staged)),
            self.dataset,
            self.keys.key_id if self.keys else None,
        )
        changes = compare(current.schema, new_columns) if current else []
        breaking = [c for c in changes if c.breaking]
        if breaking and not self.accept_schema_change:
            raise _schema_error(self.dataset.name, breaking)
        if breaking and incremental:
            # Old files hold the old types; a version must be one schema, so re-read everything.
            self.storage.remove(self.staging)
            self.rows_read = 0
            return self.run(full=True)
        con = engine.connect(self.storage)
        try:
            if incremental and current is not None:
                result = merge.incremental(
                    con,
                    self.storage,
                    staged,
                    new_columns,
                    current,
                    self.dataset.primary_key,
                    watermark or "",
                    since,
                    f"{self.staging}/out",
                    self.where,
                )
                version_columns = merged(current.schema, new_columns)
            else:
                result = merge.full_snapshot(
                    con, self.storage, staged, new_columns, current, self.dataset.primary_key, watermark
                )
                version_columns = new_columns
            if result.unchanged:
                return self._unchanged(outcome)
            names = [c.name for c in version_columns]
            scan = engine.scan(self.storage, result.files)
            (rows,) = engine.one(con, f"SELECT count(*) FROM {scan}")
            self._check_version(con, scan, rows, outcome)
            new = NewVersion(
                mode="incremental" if incremental else "full",
                rows=rows,
                rows_added=result.rows_added,
                rows_updated=result.rows_updated,
                rows_removed=result.rows_removed,
                bytes=sum(self.storage.size(f) for f in result.files),
                files=[_final_path(f, self.staging, self.final) for f in result.files],
                schema=version_columns,
                watermark=_format_watermark(result.watermark),
                fingerprint=merge.fingerprint(con, scan, names),
                schema_changes=[str(c) for c in changes],
            )
        finally:
            con.close()
        self.storage.publish(f"{self.staging}/out", self.final)
        if outcome.quarantine_files:
            self.storage.publish(f"{self.staging}/quarantine", self.quarantine)
        self._record_quality(outcome)
        number = self.store.commit_version(
            self.dataset.name, new, current.version if current else None, self.run_id, self.rows_read
        )
        return IngestResult(
            self.dataset.name,
            number,
            True,
            self.rows_read,
            rows,
            result.rows_added,
            result.rows_updated,
            result.rows_removed,
            result.duplicates_dropped,
            [str(c) for c in changes],
            rows_quarantined=outcome.rows_quarantined,
            rows_deduped=outcome.rows_deduped,
            warnings=outcome.warnings,
        )

    def _stage(self, since: object | None) -> list[str]:
        """Write what the source returns to Parquet under the staging folder, batch by batch."""
        connector = open_connector(self.source, self.environ)
        try:
            # With row rules the raw read is only an input: the cleaned, kept rows become the version.
            # So do rows whose PII fields are still to be protected.
            folder = "raw" if has_row_rules(self.dataset) or self.protected else "out"
            writer = PartWriter(self.storage, f"{self.staging}/{folder}", "part", self.where)
            for batch in connector.read(staging_spec(self.dataset), since):
                writer.write(batch)
                self.rows_read += batch.num_rows
                if self.on_progress:
                    self.on_progress(batch.num_rows)
            if writer.rows == 0 and self._empty_read_is_a_version():
                writer.write_empty(self._empty_schema(connector))
            return writer.close()
        finally:
            connector.close()

    def _empty_read_is_a_version(self) -> bool:
        """A SQL table states its columns, so an empty one is an empty version. Files and APIs only show
        their columns through rows: an empty file is an empty batch that leaves the current version as it
        is, and on the first ingest there is no schema to infer unless the spec declares the columns."""
        return self.source.type == "sql" or self.current is None

    def _empty_schema(self, connector: Any) -> pa.Schema:
        from zhongtai.connect.batches import has_null
        from zhongtai.connect.types import arrow_type

        schema = connector.schema(staging_spec(self.dataset))
        if self.source.type == "sql":
            return schema
        if not len(schema):
            declared = self.dataset.declared_types()
            schema = pa.schema(
                [(f.name, arrow_type(declared[f.name])) for f in self.dataset.fields if f.type]
            )
        if not len(schema) or any(has_null(f.type) for f in schema):
            where = self.dataset.path or self.dataset.endpoint or self.dataset.location_key
            raise ZhongtaiError(
                "source_error",
                f"{self.where}: {where} holds no rows: no column types to infer",
                "add rows at the source, or declare every column with its type in the dataset's fields "
                "(`fields: [{name: id, type: int64}, ...]`) to start with an empty version",
            )
        return schema

    def _check_rows(
        self, staged: list[str], incremental: bool, watermark: str | None
    ) -> tuple[list[str], QualityOutcome]:
        """Clean, check and dedupe the staged rows; the kept ones go where the merge expects new rows."""
        if not has_row_rules(self.dataset):
            return staged, QualityOutcome(self.rows_read, self.rows_read)
        # A full read's rows are the version's files; an incremental merge writes its own files to out/.
        # Rows still to be protected wait in checked/ (and quarantine-clear/) for `_protect`.
        kept = f"{self.staging}/{self._new_rows_folder(incremental)}"
        quarantine = f"{self.staging}/quarantine"
        if self.protected:
            kept, quarantine = f"{self.staging}/checked", f"{self.staging}/quarantine-clear"
        con = engine.connect(self.storage)
        try:
            checked = check_rows(
                con,
                self.storage,
                staged,
                self.dataset,
                kept_folder=kept,
                quarantine_folder=quarantine,
                watermark=watermark,
                reference_scan=self._reference_scan,
            )
        finally:
            con.close()
        return checked.files, checked.outcome

    def _new_rows_folder(self, incremental: bool) -> str:
        return "clean" if incremental else "out"

    def _protect(self, staged: list[str], incremental: bool, outcome: QualityOutcome) -> list[str]:
        """Tokenize (and encrypt where asked) the PII fields of the kept and quarantined rows; the clear
        intermediate files are deleted at once rather than with the staging folder."""
        if not self.protected or self.keys is None:
            return staged
        kept = self._protect_files(staged, self._new_rows_folder(incremental))
        if outcome.quarantine_files:
            outcome.quarantine_files = self._protect_files(outcome.quarantine_files, "quarantine")
        for folder in ("raw", "checked", "quarantine-clear"):
            self.storage.remove(f"{self.staging}/{folder}")
        return kept

    def _protect_files(self, files: list[str], folder: str) -> list[str]:
        import pyarrow.parquet as pq

        keys = self.keys
        if keys is None:
            return files
        fs = self.storage.arrow_fs()
        writer = PartWriter(self.storage, f"{self.staging}/{folder}", "part", self.where)
        for path in files:
            for batch in pq.ParquetFile(path, filesystem=fs).iter_batches(BATCH_ROWS):
                writer.write(protect_batch(batch, self.protected, keys))
        if writer.rows == 0:
            empty = pa.RecordBatch.from_pylist([], schema=_unified_schema(self.storage, files))
            writer.write_empty(protect_batch(empty, self.protected, keys).schema)
        return writer.close()

    def _reference_scan(self, name: str) -> str:
        """SQL reading the current version of a dataset a `references` check looks values up in."""
        version = self.store.current_version(name)
        if version is None:
            raise ZhongtaiError(
                "not_found",
                f"{self.where}: a references check needs dataset '{name}', which has no version yet",
                f"run `zhongtai ingest {name}` first",
            )
        stored = {c.name: c.storage for c in version.schema}
        for field_spec in self.dataset.fields:
            for check in field_spec.checks:
                target = check.references
                if target and target.dataset == name and stored.get(target.field) in ("token", "encrypted"):
                    raise ZhongtaiError(
                        "invalid_spec",
                        f"{self.where}: field {field_spec.name} references {name}.{target.field}, which the "
                        "lake stores as PII tokens, while checks run on clear values before they are tokenized",
                        f"drop the check, or declare {name}.{target.field} `storage: clear` (docs/pii.md)",
                    )
        return engine.scan(self.storage, version.files)

    def _check_version(self, con: Any, scan: str, rows: int, outcome: QualityOutcome) -> None:
        """Dataset checks on the would-be version; a blocking failure records why and stops the run."""
        if not self.dataset.checks:
            return
        previous = self.current.rows if self.current else None
        outcome.results.extend(check_version(con, scan, self.dataset, rows, previous, now()))
        if outcome.blocking:
            self._record_quality(outcome, blocked=True)
            raise QualityBlocked(self.dataset.name, outcome.blocking)

    def _record_quality(self, outcome: QualityOutcome, blocked: bool = False) -> None:
        if not (has_row_rules(self.dataset) or self.dataset.checks):
            return
        self.store.quality.record(
            QualityRun(
                run_id=self.run_id,
                dataset=self.dataset.name,
                at=now(),
                status=outcome.status,
                rows_in=outcome.rows_in,
                rows_kept=outcome.rows_kept,
                rows_quarantined=outcome.rows_quarantined,
                rows_deduped=outcome.rows_deduped,
                # A blocked run publishes nothing, so its quarantine is gone with its staging folder.
                quarantine_files=[]
                if blocked
                else [self._quarantine_path(f) for f in outcome.quarantine_files],
                results=[r.to_dict() for r in outcome.results],
                message="; ".join(f"{r.rule}: {r.reason}" for r in outcome.blocking) or None,
            )
        )

    def _quarantine_path(self, path: str) -> str:
        prefix = f"{self.staging}/quarantine"
        return self.quarantine + path[len(prefix) :] if path.startswith(prefix) else path

    def _empty_batch(self, incremental: bool) -> IngestResult:
        """Nothing read from a file or API source: the current version and its schema stay as they are."""
        result = self._unchanged(QualityOutcome(0, 0))
        read = "no rows at or after the last watermark" if incremental else "no rows"
        result.note = f"the source returned {read}; version {result.version} stays current"
        return result

    def _unchanged(self, outcome: QualityOutcome) -> IngestResult:
        current = self.current
        return IngestResult(
            self.dataset.name,
            current.version if current else None,
            False,
            self.rows_read,
            current.rows if current else 0,
            rows_quarantined=outcome.rows_quarantined,
            rows_deduped=outcome.rows_deduped,
            warnings=outcome.warnings,
        )


def recover_interrupted(store: MetadataStore, storage: LakeStorage, name: str) -> list[str]:
    """Mark runs of this dataset whose process died as failed and delete what they left in the lake."""
    cleaned = []
    for run in store.runs(name, status="running"):
        if not gone(run.host, run.pid):
            continue
        storage.remove(storage.staging(run.id))
        storage.remove(storage.dataset_dir(name, run.id))
        storage.remove(quarantine_dir(storage, name, run.id))
        store.finish_run(run.id, "failed", run.rows_read, "interrupted: the process died before committing")
        cleaned.append(run.id)
    return cleaned


def quarantine_dir(storage: LakeStorage, dataset: str, run_id: str) -> str:
    """Where the rows a run quarantined live once its version is published."""
    return storage.path("_quarantine", dataset, run_id)


def _final_path(path: str, staging: str, final: str) -> str:
    prefix = f"{staging}/out"
    return final + path[len(prefix) :] if path.startswith(prefix) else path


def _unified_schema(storage: LakeStorage, files: list[str]) -> pa.Schema:
    import pyarrow.parquet as pq

    fs = storage.arrow_fs()
    return pa.unify_schemas([pq.read_schema(f, filesystem=fs) for f in files], promote_options="permissive")


def _schema_error(name: str, changes: list[SchemaChange]) -> ZhongtaiError:
    listed = "; ".join(str(c) for c in changes)
    return ZhongtaiError(
        "schema_changed",
        f"dataset '{name}': the source's schema changed: {listed}",
        f"if the change is intended, run `zhongtai ingest {name} --accept-schema-change` (a full re-read)",
    )


def _format_watermark(value: object | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def _parse_watermark(current: DatasetVersion | None, column: str | None) -> object | None:
    if current is None or current.watermark is None or column is None:
        return None
    logical = next((c.type for c in current.schema if c.name == column), "string")
    text = current.watermark
    if logical.startswith("timestamp"):
        return datetime.fromisoformat(text)
    if logical == "date":
        return date.fromisoformat(text)
    if logical.startswith("int"):
        return int(text)
    if logical.startswith("decimal"):
        return Decimal(text)
    if logical.startswith("float"):
        return float(text)
    return text


def _produced(name: str, spec_payload: dict[str, Any]) -> ZhongtaiError:
    """The error for ingesting a dataset the platform produces itself: by OneID, or by a model's outputs."""
    if spec_payload.get("model"):
        return ZhongtaiError(
            "invalid_argument",
            f"dataset '{name}' is produced by model '{spec_payload['model']}', not ingested",
            f"run `zhongtai models publish {spec_payload['model']}` to publish a new version",
        )
    return ZhongtaiError(
        "invalid_argument",
        f"dataset '{name}' is produced by OneID (identity '{spec_payload.get('identity')}'), not ingested",
        "run `zhongtai oneid run` to publish a new version",
    )
