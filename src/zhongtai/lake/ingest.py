"""`zhongtai ingest`: pull a dataset from its source into the lake as the next immutable version.

Atomicity: rows are staged under `_staging/<run>` and published with one rename, then the version is
committed in the metadata store in one transaction. A crash at any point leaves the previous version
current; the next ingest of the dataset finds the dead run and removes what it left behind.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa
from pydantic import TypeAdapter

from zhongtai.connect import open_connector
from zhongtai.errors import ZhongtaiError
from zhongtai.lake import engine, merge
from zhongtai.lake.parts import PartWriter
from zhongtai.lake.schema import SchemaChange, columns_of, compare, merged
from zhongtai.lake.storage import LakeStorage
from zhongtai.meta.records import DatasetVersion, NewVersion
from zhongtai.meta.store import MetadataStore
from zhongtai.spec.models import DatasetSpec, SourceSpec

Progress = Callable[[int], None]


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
) -> IngestResult:
    """Read the dataset from its source and commit a new version if anything changed."""
    started = time.perf_counter()
    spec_payload, source_payload = store.dataset_spec(name)
    dataset = DatasetSpec.model_validate(spec_payload)
    source = TypeAdapter(SourceSpec).validate_python(source_payload)
    current = store.current_version(name)
    recover_interrupted(store, storage, name)
    run_id = store.start_run(name)
    staging = storage.staging(run_id)
    final = storage.dataset_dir(name, run_id)
    rows_read = 0
    try:
        result, rows_read = _run(
            store, storage, dataset, source, current, run_id, full, accept_schema_change, on_progress, environ
        )
    except BaseException as exc:
        storage.remove(staging)
        storage.remove(final)
        message = exc.message if isinstance(exc, ZhongtaiError) else f"{type(exc).__name__}: {exc}"
        store.finish_run(run_id, "failed", rows_read, message)
        raise
    storage.remove(staging)
    if not result.created:
        store.finish_run(run_id, "unchanged", result.rows_read)
    result.seconds = round(time.perf_counter() - started, 3)
    return result


def _run(
    store: MetadataStore,
    storage: LakeStorage,
    dataset: DatasetSpec,
    source: Any,
    current: DatasetVersion | None,
    run_id: str,
    full: bool,
    accept_schema_change: bool,
    on_progress: Progress | None,
    environ: Mapping[str, str] | None,
) -> tuple[IngestResult, int]:
    name = dataset.name
    staging = storage.staging(run_id)
    watermark = dataset.incremental.watermark if dataset.incremental else None
    incremental = bool(watermark) and current is not None and not full and current.watermark is not None
    since = _parse_watermark(current, watermark) if incremental else None
    connector = open_connector(source, environ)
    try:
        writer = PartWriter(storage, f"{staging}/out", "part", f"dataset '{name}'")
        for batch in connector.read(dataset, since):
            writer.write(batch)
            if on_progress:
                on_progress(batch.num_rows)
        if writer.rows == 0:
            writer.write_empty(connector.schema(dataset))
        staged = writer.close()
    finally:
        connector.close()
    new_columns = columns_of(_unified_schema(storage, staged))
    changes = compare(current.schema, new_columns) if current else []
    breaking = [c for c in changes if c.breaking]
    if breaking and not accept_schema_change:
        raise _schema_error(name, breaking)
    if breaking and incremental:
        # Old files hold the old types; a version must be one schema, so re-read everything.
        storage.remove(staging)
        return _run(store, storage, dataset, source, current, run_id, True, True, on_progress, environ)
    con = engine.connect(storage)
    column_names = [c.name for c in new_columns]
    if incremental and current is not None:
        result = merge.incremental(
            con,
            storage,
            staged,
            column_names,
            current.files,
            [c.name for c in current.schema],
            dataset.primary_key,
            watermark or "",
            since,
            current.watermark,
            f"{staging}/out",
            f"dataset '{name}'",
        )
        version_columns = merged(current.schema, new_columns)
    else:
        result = merge.full_snapshot(
            con,
            storage,
            staged,
            column_names,
            current.files if current else None,
            [c.name for c in current.schema] if current else [],
            dataset.primary_key,
            watermark,
        )
        version_columns = new_columns
    if result.unchanged:
        return IngestResult(
            name, current.version if current else None, False, writer.rows, current.rows if current else 0
        ), writer.rows
    files = [_final_path(f, staging, storage.dataset_dir(name, run_id)) for f in result.files]
    fp = merge.fingerprint(con, engine.scan(storage, result.files), [c.name for c in version_columns])
    if not incremental and current is not None and fp == current.fingerprint:
        return IngestResult(name, current.version, False, writer.rows, current.rows), writer.rows
    (rows,) = engine.one(con, f"SELECT count(*) FROM {engine.scan(storage, result.files)}")
    size = sum(storage.size(f) for f in result.files)
    con.close()
    storage.publish(f"{staging}/out", storage.dataset_dir(name, run_id))
    new = NewVersion(
        mode="incremental" if incremental else "full",
        rows=rows,
        rows_added=result.rows_added,
        rows_updated=result.rows_updated,
        rows_removed=result.rows_removed,
        bytes=size,
        files=files,
        schema=version_columns,
        watermark=_format_watermark(result.watermark),
        fingerprint=fp,
        schema_changes=[str(c) for c in changes],
    )
    number = store.commit_version(name, new, current.version if current else None, run_id)
    return IngestResult(
        name,
        number,
        True,
        writer.rows,
        rows,
        result.rows_added,
        result.rows_updated,
        result.rows_removed,
        result.duplicates_dropped,
        [str(c) for c in changes],
    ), writer.rows


def recover_interrupted(store: MetadataStore, storage: LakeStorage, name: str) -> list[str]:
    """Mark runs of this dataset whose process died as failed and delete what they left in the lake."""
    host = socket.gethostname()
    cleaned = []
    for run in store.runs(name, status="running"):
        if run.host != host or _alive(run.pid):
            continue
        storage.remove(storage.staging(run.id))
        storage.remove(storage.dataset_dir(name, run.id))
        store.finish_run(run.id, "failed", run.rows_read, "interrupted: the process died before committing")
        cleaned.append(run.id)
    return cleaned


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


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
