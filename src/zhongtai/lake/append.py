"""Appending a micro-batch of events to a dataset as its next version (the stream consumer's lake write).

A version stays a plain list of Parquet files: the new one is the previous version's files plus one part file
of the batch, published and committed like an ingest (staged, moved, one metadata transaction), so a crash
leaves the previous version current. Events whose id the dataset already holds are left out: a batch that
is delivered again after a crash adds nothing. Values are cast to the dataset's column types; a new
dataset takes the types of its first batch.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from zhongtai.errors import ZhongtaiError
from zhongtai.lake import engine
from zhongtai.lake.failures import data_error, failed_message
from zhongtai.lake.ingest import recover_interrupted
from zhongtai.lake.parts import PartWriter
from zhongtai.lake.schema import columns_of
from zhongtai.lake.storage import LakeStorage
from zhongtai.meta.records import DatasetVersion, NewVersion
from zhongtai.meta.store import MetadataStore

ATTEMPTS = 3  # an ingest committing at the same moment makes the append start over from the new version


@dataclass(frozen=True)
class Appended:
    dataset: str
    version: int | None  # None: every event was already in the dataset
    rows_added: int
    duplicates: int


def append_events(
    store: MetadataStore,
    storage: LakeStorage,
    dataset: str,
    events: Sequence[Mapping[str, Any]],
    event_id: str | list[str],
) -> Appended:
    """Commit the events the dataset does not hold yet as its next version."""
    attempt = 1
    while True:
        try:
            return _append_once(store, storage, dataset, events, event_id)
        except ZhongtaiError as exc:
            if exc.code != "conflict" or attempt >= ATTEMPTS:
                raise
            attempt += 1


def _append_once(
    store: MetadataStore,
    storage: LakeStorage,
    dataset: str,
    events: Sequence[Mapping[str, Any]],
    event_id: str | list[str],
) -> Appended:
    current = store.current_version(dataset)
    recover_interrupted(store, storage, dataset)
    run_id = store.start_run(dataset)
    staging, final = storage.staging(run_id), storage.dataset_dir(dataset, run_id)
    con = engine.connect(storage)
    try:
        con.register("incoming", _table(events))
        query = _new_rows_query(con, storage, current, event_id, dataset)
        writer = PartWriter(storage, f"{staging}/out", "stream", f"dataset '{dataset}'")
        writer.write_all(con.sql(query).to_arrow_reader(50_000))
        files = writer.close()
        if writer.rows == 0:
            store.finish_run(run_id, "unchanged", len(events), "every event was already in the dataset")
            return Appended(dataset, None, 0, len(events))
        new = _new_version(con, storage, current, files, writer.rows, staging, final)
        storage.publish(f"{staging}/out", final)
        number = store.commit_version(dataset, new, current.version if current else None, run_id, len(events))
        return Appended(dataset, number, writer.rows, len(events) - writer.rows)
    except BaseException as exc:
        storage.remove(final)
        failure = data_error(exc, f"dataset '{dataset}'")
        store.finish_run(run_id, "failed", len(events), failure.message if failure else failed_message(exc))
        if failure is not None and failure is not exc:
            raise failure from None
        raise
    finally:
        con.close()
        storage.remove(staging)


def _new_rows_query(
    con: Any, storage: LakeStorage, current: DatasetVersion | None, event_id: str | list[str], dataset: str
) -> str:
    """The incoming events, one per id, in the current version's column types, without the ids it holds."""
    q = engine.quote
    incoming = {name: str(kind) for name, kind in zip(*_columns(con, "SELECT * FROM incoming"), strict=True)}
    ids = [event_id] if isinstance(event_id, str) else list(event_id)
    lacking = [c for c in ids if c not in incoming]
    if lacking:
        raise ZhongtaiError(
            "invalid_argument",
            f"dataset '{dataset}': the events have no {', '.join(lacking)} (the id of its stream's events)",
        )
    partition = ", ".join(q(c) for c in ids)
    unique = f"SELECT * FROM incoming QUALIFY row_number() OVER (PARTITION BY {partition}) = 1"
    if current is None:
        return unique
    existing = engine.scan(storage, current.files)
    names, types = _columns(con, f"SELECT * FROM {existing} LIMIT 0")
    select = [_cast(name, kind, incoming.get(name)) for name, kind in zip(names, types, strict=True)]
    # Compared in the dataset's own types, so `"2026-12-01"` from JSON meets the DATE the CSV gave.
    key = "concat_ws('|', " + ", ".join(f"CAST({q(c)} AS VARCHAR)" for c in ids) + ")"
    return (
        f"WITH typed AS (SELECT {', '.join(select)} FROM ({unique}) AS i)\n"
        f"SELECT * FROM typed WHERE {key} NOT IN (\n"
        f"  SELECT {key} FROM {existing} WHERE {key} IN (SELECT {key} FROM typed))"
    )


def _table(events: Sequence[Mapping[str, Any]]) -> Any:
    """The events as an Arrow table; a column whose values disagree in type (producers differ) goes as text,
    which the cast to the dataset's type then reads."""
    import pyarrow as pa

    names = list(dict.fromkeys(name for event in events for name in event))
    columns = {}
    for name in names:
        values = [event.get(name) for event in events]
        try:
            columns[name] = pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            columns[name] = pa.array(
                [None if v is None else v if isinstance(v, str) else json.dumps(v) for v in values]
            )
    return pa.table(columns)


def _cast(name: str, target: str, given: str | None) -> str:
    q = engine.quote
    if given is None:
        return f"CAST(NULL AS {target}) AS {q(name)}"
    if target == "TIMESTAMP" and given == "VARCHAR":
        # A zone in the text counts: the lake keeps naive timestamps in UTC.
        return f"timezone('UTC', CAST(i.{q(name)} AS TIMESTAMPTZ)) AS {q(name)}"
    return f"CAST(i.{q(name)} AS {target}) AS {q(name)}"


def _columns(con: Any, sql: str) -> tuple[list[str], list[str]]:
    relation = con.sql(sql)
    return list(relation.columns), [str(t) for t in relation.types]


def _new_version(
    con: Any,
    storage: LakeStorage,
    current: DatasetVersion | None,
    files: list[str],
    rows: int,
    staging: str,
    final: str,
) -> NewVersion:
    """The version record: the fingerprint is additive (a sum of row hashes), so only new rows are hashed."""
    import pyarrow.parquet as pq

    scan = engine.scan(storage, files)
    schema = columns_of(pq.read_schema(files[0], filesystem=storage.arrow_fs()))
    names = [c.name for c in (current.schema if current else schema)]
    count, total = engine.one(
        con, f"SELECT count(*), coalesce(sum({engine.row_hash(names)}::HUGEINT), 0) FROM {scan}"
    )
    old_count, old_total = (0, 0)
    if current is not None:
        old_count_text, old_hex = current.fingerprint.split(":", 1)
        old_count, old_total = int(old_count_text), int(old_hex, 16)
    published = [final + f[len(f"{staging}/out") :] for f in files]
    return NewVersion(
        mode="append",
        rows=(current.rows if current else 0) + rows,
        rows_added=rows,
        rows_updated=0,
        rows_removed=0,
        bytes=(current.bytes if current else 0) + sum(storage.size(f) for f in files),
        files=[*(current.files if current else []), *published],
        schema=current.schema if current else schema,
        watermark=current.watermark if current else None,
        fingerprint=f"{old_count + count}:{(old_total + int(total)) % (1 << 64):016x}",
        schema_changes=[],
    )
