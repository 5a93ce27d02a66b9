"""SQL over lake datasets by name: each dataset a query reads becomes a view over its current version."""

from __future__ import annotations

from typing import TYPE_CHECKING

from zhongtai.errors import ZhongtaiError
from zhongtai.lake import engine
from zhongtai.lake.storage import LakeStorage
from zhongtai.meta.records import DatasetVersion
from zhongtai.meta.store import MetadataStore
from zhongtai.spec.references import referenced_tables

if TYPE_CHECKING:
    import duckdb

    from zhongtai.lake.offline.base import OfflineEngine

__all__ = ["current_inputs", "open_datasets", "register_datasets"]


def current_inputs(store: MetadataStore, sql: str, where: str) -> dict[str, DatasetVersion]:
    """The current version of every dataset the SQL reads; an unknown or never-ingested one is an error."""
    names = referenced_tables(sql, where)
    registered = store.registered("datasets")
    found: dict[str, DatasetVersion] = {}
    for name in names:
        if name not in registered:
            raise ZhongtaiError(
                "invalid_spec",
                f"{where}: table '{name}' is not a registered dataset",
                "the SQL reads datasets by name; `zhongtai datasets list` shows them",
            )
        current = store.current_version(name)
        if current is None:
            spec = registered[name]
            again = (
                f"ingest {name}"
                if "source" in spec
                else f"models publish {spec['model']}"
                if "model" in spec
                else "oneid run"
            )
            raise ZhongtaiError(
                "not_found", f"{where}: dataset '{name}' has no version yet", f"run `zhongtai {again}`"
            )
        found[name] = current
    return found


def open_datasets(
    con: duckdb.DuckDBPyConnection, store: MetadataStore, storage: LakeStorage, sql: str, where: str
) -> dict[str, int]:
    """Create a DuckDB view per dataset the SQL reads, over its current version; returns {dataset: version}."""
    inputs = current_inputs(store, sql, where)
    for name, current in inputs.items():
        scan = engine.scan(storage, current.files)
        engine.run(con, f"CREATE OR REPLACE TEMP VIEW {engine.quote(name)} AS SELECT * FROM {scan}")
    return {name: current.version for name, current in inputs.items()}


def register_datasets(offline: OfflineEngine, store: MetadataStore, sql: str, where: str) -> dict[str, int]:
    """Register a table on the offline engine per dataset the SQL reads; returns {dataset: version}."""
    inputs = current_inputs(store, sql, where)
    for name, current in inputs.items():
        offline.register(name, current.files)
    return {name: current.version for name, current in inputs.items()}
