"""A OneID run over the lake: read the configured datasets' current versions, resolve, write the results.

Written under `<lake>/_oneid/<run id>/`: `persons.parquet` (golden records), `crosswalk.parquet`
(person_id, record_id, dataset, key), `records.parquet` (normalized attributes, for `explain`),
`links.parquet`, `events.parquet`, `model.json` (the trained Splink model) and `stats.json`.
`<lake>/_oneid/current.json` points at the last run and carries the id counter; the previous run's
crosswalk is read back from there, so ids stay stable. (v0: the metadata store will hold the pointer.)
"""

from __future__ import annotations

import json
import posixpath
import uuid
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from zhongtai.govern.keys import PiiKeys
from zhongtai.identity.config import OneIDConfig
from zhongtai.identity.inputs import register_sources
from zhongtai.identity.resolve import Progress, Resolution, resolve
from zhongtai.lake import engine
from zhongtai.lake.storage import LakeStorage
from zhongtai.meta.store import MetadataStore

ROOT = "_oneid"


def current(storage: LakeStorage) -> dict[str, Any] | None:
    """The pointer to the last run ({run_id, next_id, at}), or None before the first run."""
    path = storage.path(ROOT, "current.json")
    if not storage.fs.exists(path):
        return None
    with storage.fs.open(path, "r") as f:
        return json.load(f)


def run_dir(storage: LakeStorage, run_id: str) -> str:
    return storage.path(ROOT, run_id)


def read_output(storage: LakeStorage, name: str, run_id: str | None = None) -> pa.Table:
    """One output table (persons, crosswalk, records, links, events) of a run (default: the current)."""
    run_id = run_id or (current(storage) or {}).get("run_id")
    if run_id is None:
        from zhongtai.errors import ZhongtaiError

        raise ZhongtaiError("not_found", "OneID has not run yet", "run `zhongtai oneid run`")
    return pq.read_table(
        posixpath.join(run_dir(storage, run_id), f"{name}.parquet"), filesystem=storage.arrow_fs()
    )


def previous_mapping(storage: LakeStorage) -> tuple[dict[str, str], int]:
    """The last run's record -> person mapping and the next id to mint."""
    pointer = current(storage)
    if pointer is None:
        return {}, 1
    crosswalk = read_output(storage, "crosswalk", pointer["run_id"])
    mapping = dict(zip(crosswalk["record_id"].to_pylist(), crosswalk["person_id"].to_pylist(), strict=True))
    return mapping, int(pointer["next_id"])


def run_oneid(
    store: MetadataStore,
    storage: LakeStorage,
    config: OneIDConfig,
    on_progress: Progress | None = None,
    pii_keys: PiiKeys | None = None,
) -> dict[str, Any]:
    """Resolve the configured datasets' current versions and publish the run; returns its stats.
    Protected PII columns are read as inputs.py says (tokens join; encrypted ones decrypted in memory)."""
    con = engine.connect(storage)
    try:
        inputs = register_sources(con, store, storage, config, pii_keys)
        versions = inputs.versions
        previous, next_id = previous_mapping(storage)
        result = inputs.seal(resolve(con, config, previous, next_id, on_progress))
    finally:
        con.close()
    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
    changed = sum(
        1
        for r, p in zip(
            result.crosswalk["record_id"].to_pylist(), result.crosswalk["person_id"].to_pylist(), strict=True
        )
        if r in previous and previous[r] != p
    )
    stats = {
        **result.stats,
        "run_id": run_id,
        "inputs": versions,
        "ids_changed": changed,
        "next_id": result.next_id,
    }
    write_run(storage, run_id, result, stats)
    return stats


def write_run(storage: LakeStorage, run_id: str, result: Resolution, stats: dict[str, Any]) -> None:
    """Write a run's files to staging, publish them, then move the current pointer."""
    staging = storage.staging(f"oneid-{run_id}")
    storage.makedirs(staging)
    fs = storage.arrow_fs()
    tables = {
        "persons": result.persons,
        "crosswalk": result.crosswalk,
        "records": result.records,
        "links": result.links,
        "events": pa.Table.from_pylist(
            [
                {"kind": e["kind"], "person_id": e["person_id"], "detail": json.dumps(e, ensure_ascii=False)}
                for e in result.events
            ],
            schema=pa.schema([("kind", pa.string()), ("person_id", pa.string()), ("detail", pa.string())]),
        ),
    }
    for name, table in tables.items():
        pq.write_table(table, posixpath.join(staging, f"{name}.parquet"), filesystem=fs)
    for name, value in (("model.json", result.model), ("stats.json", stats)):
        with storage.fs.open(posixpath.join(staging, name), "w") as f:
            json.dump(value, f, ensure_ascii=False, default=str)
    storage.publish(staging, run_dir(storage, run_id))
    pointer = {"run_id": run_id, "next_id": result.next_id, "at": datetime.now(UTC).isoformat()}
    with storage.fs.open(storage.path(ROOT, "current.json"), "w") as f:
        json.dump(pointer, f)
