"""Reading dataset versions back out of the lake."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pyarrow as pa

from zhongtai.errors import ZhongtaiError
from zhongtai.lake import engine
from zhongtai.lake.storage import LakeStorage
from zhongtai.meta.records import DatasetVersion
from zhongtai.meta.store import MetadataStore


def resolve_version(store: MetadataStore, name: str, version: int | None = None) -> DatasetVersion:
    """The requested version, or the current one; a dataset never ingested is an error saying so."""
    if version is not None:
        return store.version(name, version)
    current = store.current_version(name)
    if current is None:
        raise ZhongtaiError(
            "not_found", f"dataset '{name}' has no version yet", f"run `zhongtai ingest {name}`"
        )
    return current


def read_table(
    store: MetadataStore,
    storage: LakeStorage,
    name: str,
    version: int | None = None,
    limit: int | None = None,
) -> pa.Table:
    """A dataset version as an Arrow table (use `limit` for previews; whole versions can be large)."""
    found = resolve_version(store, name, version)
    con = engine.connect(storage)
    try:
        sql = _select(storage, found)
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return con.sql(sql).to_arrow_table()
    finally:
        con.close()


@contextmanager
def open_version(
    store: MetadataStore,
    storage: LakeStorage,
    name: str,
    version: int | None = None,
    batch_rows: int = 100_000,
    json_lines: bool = False,
) -> Iterator[tuple[DatasetVersion, pa.RecordBatchReader]]:
    """A dataset version streamed in batches of at most `batch_rows` (the same rows `read_table` gives);
    with `json_lines`, each row as one JSON object in a single text column (encoded by the engine)."""
    found = resolve_version(store, name, version)
    con = engine.connect(storage)
    try:
        yield found, con.sql(_select(storage, found, json_lines)).to_arrow_reader(batch_rows)
    finally:
        con.close()


def _select(storage: LakeStorage, version: DatasetVersion, json_lines: bool = False) -> str:
    rows = "to_json(v)::VARCHAR AS line" if json_lines else "*"
    return f"SELECT {rows} FROM {engine.scan(storage, version.files)} AS v"
