"""SQL over lake datasets by name: each dataset a query reads becomes a DuckDB view over its current version."""

from __future__ import annotations

from typing import TYPE_CHECKING

from zhongtai.errors import ZhongtaiError
from zhongtai.lake import engine
from zhongtai.lake.storage import LakeStorage
from zhongtai.meta.store import MetadataStore
from zhongtai.spec.references import referenced_tables

if TYPE_CHECKING:
    import duckdb

__all__ = ["open_datasets"]


def open_datasets(
    con: duckdb.DuckDBPyConnection, store: MetadataStore, storage: LakeStorage, sql: str, where: str
) -> dict[str, int]:
    """Create a view per dataset the SQL reads, over its current version; returns {dataset: version}."""
    names = referenced_tables(sql, where)
    registered = store.registered("datasets")
    inputs: dict[str, int] = {}
    for name in names:
        if name not in registered:
            raise ZhongtaiError(
                "invalid_spec",
                f"{where}: table '{name}' is not a registered dataset",
                "the SQL reads datasets by name; `zhongtai datasets list` shows them",
            )
        current = store.current_version(name)
        if current is None:
            again = f"ingest {name}" if "source" in registered[name] else "oneid run"
            raise ZhongtaiError(
                "not_found", f"{where}: dataset '{name}' has no version yet", f"run `zhongtai {again}`"
            )
        scan = engine.scan(storage, current.files)
        engine.run(con, f"CREATE OR REPLACE TEMP VIEW {engine.quote(name)} AS SELECT * FROM {scan}")
        inputs[name] = current.version
    return inputs
