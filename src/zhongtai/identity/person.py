"""A OneID person seen from the source systems: which person a source record belongs to, and the rows that
make the person in every source, read from each dataset's current version.

The rows are source data: each dataset's rows leave only for a reader the policy lets `read_dataset` it
(the others are listed as withheld, with no value), a field stored encrypted shown from its decrypted copy,
and every PII class the reader may not see masked (govern/masking.py).
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from zhongtai.errors import ZhongtaiError
from zhongtai.identity.config import OneIDConfig
from zhongtai.identity.run import current_run
from zhongtai.lake import engine

if TYPE_CHECKING:
    from zhongtai.govern.keys import PiiKeys
    from zhongtai.govern.masking import Disclosure
    from zhongtai.lake.storage import LakeStorage
    from zhongtai.meta.store import MetadataStore

MAX_RECORDS = 500  # a person of more records is a resolution gone wrong; show the first, say how many


def _crosswalk(
    store: MetadataStore, storage: LakeStorage, config: OneIDConfig, column: str, value: str
) -> pa.Table:
    """The current run's crosswalk rows whose `column` is `value`, filtered by DuckDB as it reads the
    Parquet file (row groups whose statistics rule the value out are skipped), never loaded whole."""
    location = current_run(store, config.name).location
    con = engine.connect(storage)
    try:
        sql = (
            "SELECT person_id, record_id, dataset, key FROM "
            f"{engine.scan(storage, [posixpath.join(location, 'crosswalk.parquet')])} "
            f"WHERE {engine.quote(column)} = $value"
        )
        return con.sql(sql, params={"value": value}).to_arrow_table()
    finally:
        con.close()


def person_of(
    store: MetadataStore, storage: LakeStorage, config: OneIDConfig, record_id: str
) -> dict[str, Any]:
    """The person a source record (`<dataset>:<key>`) resolved into in the current run."""
    found = _crosswalk(store, storage, config, "record_id", record_id)
    if found.num_rows == 0:
        raise ZhongtaiError(
            "not_found",
            f"record '{record_id}' is not in the current OneID run of '{config.name}'",
            "a record id is <dataset>:<key>, e.g. crm_customers:100001",
        )
    return {"record_id": record_id, "person_id": found["person_id"][0].as_py()}


def person_keys(
    store: MetadataStore, storage: LakeStorage, config: OneIDConfig, person_id: str
) -> dict[str, list[str]]:
    """The person's keys in each source dataset, from the current run's crosswalk."""
    members = _crosswalk(store, storage, config, "person_id", person_id)
    if members.num_rows == 0:
        raise ZhongtaiError(
            "not_found",
            f"person '{person_id}' is not in the current OneID run of '{config.name}'",
            f"zhongtai datasets preview {config.golden_dataset} lists persons",
        )
    by_dataset: dict[str, list[str]] = {}
    for dataset, key in zip(members["dataset"].to_pylist(), members["key"].to_pylist(), strict=True):
        by_dataset.setdefault(dataset, []).append(str(key))
    return by_dataset


def source_records(
    store: MetadataStore,
    storage: LakeStorage,
    config: OneIDConfig,
    person_id: str,
    seen_on: Callable[[str], Disclosure | None],
    keys: Callable[[], PiiKeys],
) -> dict[str, Any]:
    """The person's rows in each source dataset: `seen_on(dataset)` is the reader's disclosure there, or
    None when the reader may not read the dataset (its records are then listed without their rows)."""
    from zhongtai.govern.clear_copies import open_table
    from zhongtai.govern.masking import field_classes, mask_table

    by_dataset = person_keys(store, storage, config, person_id)
    sources = []
    for source in config.sources:
        wanted = sorted(by_dataset.get(source.dataset, []))[:MAX_RECORDS]
        if not wanted:
            continue
        seen = seen_on(source.dataset)
        entry: dict[str, Any] = {
            "dataset": source.dataset,
            "key_field": source.key,
            "trust": source.trust,
            "records": len(by_dataset[source.dataset]),
            "keys": wanted,
            "withheld": seen is None,
            "rows": [],
        }
        if seen is not None:
            table = open_table(_rows(store, storage, source.dataset, source.key, wanted), keys)
            entry["rows"] = mask_table(table, field_classes(store.fields(source.dataset)), seen).to_pylist()
        sources.append(entry)
    return {"person_id": person_id, "sources": sources}


def _rows(store: MetadataStore, storage: LakeStorage, dataset: str, key: str, wanted: list[str]) -> Any:
    """The current version's rows whose key (as text, as the crosswalk holds it) is among `wanted`."""
    from zhongtai.lake.reader import resolve_version

    found = resolve_version(store, dataset)
    con = engine.connect(storage)
    try:
        sql = (
            f"SELECT * FROM {engine.scan(storage, found.files)} "
            f"WHERE CAST({engine.quote(key)} AS VARCHAR) IN (SELECT unnest($keys))"
        )
        return con.sql(sql, params={"keys": wanted}).to_arrow_table()
    finally:
        con.close()
