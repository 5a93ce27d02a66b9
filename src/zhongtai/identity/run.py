"""A OneID run over the lake: read the configured datasets' current versions, resolve, publish the results.

Files go to `<lake>/_oneid/<identity>/<run id>/`: `persons.parquet` (golden records), `crosswalk.parquet`
(person_id, record_id, dataset, key), `records.parquet` (normalized attributes, for `explain`),
`links.parquet`, `events.parquet`, `model.json` (the trained Splink model) and `stats.json`. They are
written to staging and moved in place first; then one metadata transaction records the run, adds a version
of the identity's two datasets (`<identity>_golden`, `<identity>_crosswalk`) over those files and makes the
run current. A crash before that commit leaves the previous run current; ids continue from its crosswalk
and its id counter, so they stay stable.
"""

from __future__ import annotations

import json
import posixpath
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from zhongtai.errors import ZhongtaiError
from zhongtai.govern.keys import PiiKeys
from zhongtai.identity.clusters import attach_split_evidence
from zhongtai.identity.config import OneIDConfig
from zhongtai.identity.inputs import register_sources
from zhongtai.identity.resolve import Progress, Resolution, resolve
from zhongtai.lake import engine
from zhongtai.lake.offline import ResolutionEngine, engine_or_default
from zhongtai.lake.schema import columns_of
from zhongtai.lake.storage import LakeStorage
from zhongtai.meta.records import IdentityRun, NewIdentityRun, NewVersion
from zhongtai.meta.store import MetadataStore

if TYPE_CHECKING:
    import duckdb

ROOT = "_oneid"
EVENTS_SCHEMA = pa.schema([("kind", pa.string()), ("person_id", pa.string()), ("detail", pa.string())])


@dataclass(frozen=True)
class Previous:
    """What a run continues from: the current run (None before the first), its mapping and id counter."""

    run_id: str | None
    location: str | None
    mapping: dict[str, str]
    next_id: int


def identity_spec(store: MetadataStore, name: str | None = None) -> OneIDConfig:
    """The named identity spec, or the only one registered."""
    if name is None:
        registered = store.registered("identities")
        if len(registered) != 1:
            raise ZhongtaiError(
                "invalid_argument",
                f"{len(registered)} identity specs are registered ({', '.join(sorted(registered)) or 'none'})",
                "declare one under `identities:` in the project (the retail scenario ships one), or name it",
            )
        name = next(iter(registered))
    return OneIDConfig.model_validate(store.spec("identities", name))


def current_run(store: MetadataStore, identity: str) -> IdentityRun:
    """The identity's current run; not_found before its first."""
    found = store.identities.current(identity)
    if found is None:
        raise ZhongtaiError("not_found", f"OneID '{identity}' has not run yet", "run `zhongtai oneid run`")
    return found


def read_output(storage: LakeStorage, location: str, name: str) -> pa.Table:
    """One output table (persons, crosswalk, records, links, events) of the run in `location`."""
    return pq.read_table(posixpath.join(location, f"{name}.parquet"), filesystem=storage.arrow_fs())


def previous_run(store: MetadataStore, storage: LakeStorage, identity: str) -> Previous:
    """The current run's record -> person mapping and the next id to mint (a first run starts at 1).

    A lake written before the metadata store held the pointer (`_oneid/current.json`) is continued from,
    so ids minted then are never minted again."""
    found = store.identities.current(identity)
    if found is not None:
        return Previous(found.id, found.location, _mapping(storage, found.location), found.next_id)
    legacy = storage.path(ROOT, "current.json")
    if storage.fs.exists(legacy):
        with storage.fs.open(legacy, "r") as f:
            pointer = json.load(f)
        location = storage.path(ROOT, pointer["run_id"])
        return Previous(None, location, _mapping(storage, location), int(pointer["next_id"]))
    return Previous(None, None, {}, 1)


def _mapping(storage: LakeStorage, location: str) -> dict[str, str]:
    crosswalk = read_output(storage, location, "crosswalk")
    return dict(zip(crosswalk["record_id"].to_pylist(), crosswalk["person_id"].to_pylist(), strict=True))


def run_oneid(
    store: MetadataStore,
    storage: LakeStorage,
    config: OneIDConfig,
    on_progress: Progress | None = None,
    pii_keys: PiiKeys | None = None,
    *,
    engine: ResolutionEngine | None = None,
) -> dict[str, Any]:
    """Resolve the configured datasets' current versions and publish the run; returns its stats.
    Protected PII columns are read as inputs.py says (tokens join; encrypted ones decrypted in memory).
    Resolution runs on `engine` (ZT_OFFLINE_ENGINE, opened by the caller), or in process on DuckDB without
    one; the written outputs are compared with the previous run's on DuckDB (lake bookkeeping)."""
    from zhongtai.lake.engine import connect

    _check_applied(store, config)
    with engine_or_default(engine, storage) as offline:
        inputs = register_sources(offline, store, config, pii_keys)
        previous = previous_run(store, storage, config.name)
        result = inputs.seal(resolve(offline, config, previous.mapping, previous.next_id, on_progress))
    if previous.location is not None and any(e["kind"] == "split" for e in result.events):
        links = read_output(storage, previous.location, "links")
        attach_split_evidence(result.events, previous.mapping, links, result.crosswalk)
    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
    stats = _stats(result, previous.mapping, run_id, inputs.versions)
    location = storage.path(ROOT, config.name, run_id)
    write_run(storage, location, result, stats)
    con = connect(storage)
    try:
        outputs = _output_versions(con, storage, config, location, previous.location)
        store.identities.publish(_new_run(config, run_id, location, stats), outputs, previous.run_id)
    except BaseException:
        storage.remove(location)  # no run row names these files: they would only be litter
        raise
    finally:
        con.close()
    return stats


def _check_applied(store: MetadataStore, config: OneIDConfig) -> None:
    """A run publishes versions of the identity's datasets, so the identity must have been applied."""
    registered = store.registered("datasets")
    missing = [d for d in (config.golden_dataset, config.crosswalk_dataset) if d not in registered]
    if missing:
        raise ZhongtaiError(
            "invalid_argument",
            f"identity '{config.name}' is not applied: its datasets {', '.join(missing)} are not registered",
            "declare it under `identities:` in the project and run `zhongtai apply`",
        )


def _stats(
    result: Resolution, previous: dict[str, str], run_id: str, inputs: dict[str, int]
) -> dict[str, Any]:
    records, persons = result.crosswalk["record_id"].to_pylist(), result.crosswalk["person_id"].to_pylist()
    changed = sum(1 for r, p in zip(records, persons, strict=True) if r in previous and previous[r] != p)
    return {
        **result.stats,
        "merges": sum(1 for e in result.events if e["kind"] == "merge"),
        "splits": sum(1 for e in result.events if e["kind"] == "split"),
        "run_id": run_id,
        "inputs": inputs,
        "ids_changed": changed,
        "next_id": result.next_id,
    }


def _new_run(config: OneIDConfig, run_id: str, location: str, stats: dict[str, Any]) -> NewIdentityRun:
    return NewIdentityRun(
        id=run_id,
        identity=config.name,
        location=location,
        inputs=stats["inputs"],
        stats=stats,
        records=stats["records"],
        persons=stats["persons"],
        merges=stats["merges"],
        splits=stats["splits"],
        next_id=stats["next_id"],
    )


def write_run(storage: LakeStorage, location: str, result: Resolution, stats: dict[str, Any]) -> None:
    """Write a run's files to staging, then move them to `location` in one step."""
    staging = storage.staging(f"oneid-{uuid.uuid4().hex}")
    storage.makedirs(staging)
    fs = storage.arrow_fs()
    events = [
        {"kind": e["kind"], "person_id": e["person_id"], "detail": json.dumps(e, ensure_ascii=False)}
        for e in result.events
    ]
    tables = {
        "persons": result.persons,
        "crosswalk": result.crosswalk,
        "records": result.records,
        "links": result.links,
        "events": pa.Table.from_pylist(events, schema=EVENTS_SCHEMA),
    }
    try:
        for name, table in tables.items():
            pq.write_table(table, posixpath.join(staging, f"{name}.parquet"), filesystem=fs)
        for name, value in (("model.json", result.model), ("stats.json", stats)):
            with storage.fs.open(posixpath.join(staging, name), "w") as f:
                json.dump(value, f, ensure_ascii=False, default=str)
        storage.publish(staging, location)
    finally:
        storage.remove(staging)


# The produced datasets, their file in a run and the key that tells a changed row from an added one.
OUTPUTS = (("golden_dataset", "persons", "person_id"), ("crosswalk_dataset", "crosswalk", "record_id"))


def _output_versions(
    con: duckdb.DuckDBPyConnection,
    storage: LakeStorage,
    config: OneIDConfig,
    location: str,
    before: str | None,
) -> dict[str, NewVersion]:
    """The new version of each dataset the identity produces: the run's file, counted against the last run."""
    from zhongtai.lake.merge import fingerprint

    versions = {}
    for attribute, name, key in OUTPUTS:
        path = posixpath.join(location, f"{name}.parquet")
        scan = engine.scan(storage, [path])
        schema = columns_of(pq.read_schema(path, filesystem=storage.arrow_fs()))
        added, updated, removed = (0, 0, 0)
        if before is not None:
            old = engine.scan(storage, [posixpath.join(before, f"{name}.parquet")])
            added, updated, removed = _changes(con, scan, old, key, [c.name for c in schema])
        (rows,) = engine.one(con, f"SELECT count(*) FROM {scan}")
        versions[getattr(config, attribute)] = NewVersion(
            mode="full", rows=rows, rows_added=rows if before is None else added, rows_updated=updated,
            rows_removed=removed, bytes=storage.size(path), files=[path], schema=schema, watermark=None,
            fingerprint=fingerprint(con, scan, [c.name for c in schema]), schema_changes=[],
        )  # fmt: skip
    return versions


def _changes(
    con: duckdb.DuckDBPyConnection, new: str, old: str, key: str, columns: list[str]
) -> tuple[int, int, int]:
    """Rows added, changed and removed between two runs' files, by key."""
    k, digest = engine.quote(key), engine.row_hash(columns)
    added, updated, removed = engine.one(
        con,
        f"SELECT count(*) FILTER (WHERE o.k IS NULL), count(*) FILTER (WHERE o.h <> n.h), "
        f"(SELECT count(*) FROM {old}) - count(o.k) "
        f"FROM (SELECT {k} AS k, {digest} AS h FROM {new}) n "
        f"LEFT JOIN (SELECT {k} AS k, {digest} AS h FROM {old}) o ON n.k = o.k",
    )
    return int(added), int(updated), int(removed)
