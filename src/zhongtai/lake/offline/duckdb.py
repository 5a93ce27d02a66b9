"""The DuckDB offline engine: in process, over the lake's Parquet files (the default)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa

from zhongtai.errors import ZhongtaiError
from zhongtai.lake import engine as lake_engine
from zhongtai.lake.offline.base import ArrowMap, Progress
from zhongtai.lake.parts import PartWriter

if TYPE_CHECKING:
    from zhongtai.lake.storage import LakeStorage

BATCH_ROWS = 100_000


def open_engine(url: str, storage: LakeStorage) -> DuckDBEngine:
    """`duckdb` (or `duckdb://`): a fresh in-process connection that can reach the lake's files."""
    return DuckDBEngine(storage)


class DuckDBEngine:
    """One DuckDB connection; `con` may be the caller's (tests and benchmarks pass their own)."""

    name = "duckdb"
    asof_join = True

    def __init__(
        self, storage: LakeStorage | None = None, con: duckdb.DuckDBPyConnection | None = None
    ) -> None:
        self.storage = storage
        self._owned = con is None
        self.con = con if con is not None else self._connect(storage)
        self._held: dict[str, Any] = {}  # Arrow tables DuckDB scans in place: alive while registered

    @staticmethod
    def _connect(storage: LakeStorage | None) -> duckdb.DuckDBPyConnection:
        return lake_engine.connect(storage) if storage is not None else duckdb.connect()

    def _scan(self, files: list[str]) -> str:
        if self.storage is not None:
            return lake_engine.scan(self.storage, files)
        paths = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
        return f"read_parquet([{paths}], union_by_name=true)"

    def register(self, table: str, files: list[str]) -> None:
        lake_engine.run(
            self.con,
            f"CREATE OR REPLACE TEMP VIEW {lake_engine.quote(table)} AS SELECT * FROM {self._scan(files)}",
        )

    def register_arrow(self, table: str, data: pa.Table) -> None:
        self._held[table] = data
        self.con.register(table, data)

    def columns(self, sql: str, where: str) -> dict[str, str]:
        try:
            relation = self.con.sql(sql)
        except duckdb.Error as exc:
            raise ZhongtaiError("invalid_spec", f"{where}: {_first_line(exc)}") from None
        if relation is None:
            raise ZhongtaiError("invalid_spec", f"{where}: expected a SELECT statement")
        return {name: str(kind) for name, kind in zip(relation.columns, relation.types, strict=True)}

    def to_arrow(self, sql: str, where: str = "offline query") -> pa.Table:
        try:
            return self.con.sql(sql).to_arrow_table()
        except duckdb.Error as exc:
            raise ZhongtaiError("invalid_argument", f"{where}: {_first_line(exc)}") from None

    def write_parquet(
        self, sql: str, folder: str, where: str, on_progress: Progress | None = None
    ) -> tuple[list[str], int]:
        if self.storage is None:
            raise ZhongtaiError("invalid_argument", f"{where}: this engine has no lake to write to")
        writer = PartWriter(self.storage, folder, "part", where)
        try:
            reader = self.con.sql(sql).to_arrow_reader(BATCH_ROWS)
            for batch in reader:
                writer.write(batch)
                if on_progress:
                    on_progress(batch.num_rows)
            if writer.rows == 0:
                writer.write_empty(reader.schema)
        except duckdb.Error as exc:
            writer.close()
            raise ZhongtaiError("invalid_spec", f"{where}: {_first_line(exc)}") from None
        return writer.close(), writer.rows

    def create(self, table: str, sql: str) -> None:
        lake_engine.run(self.con, f"CREATE OR REPLACE TEMP TABLE {lake_engine.quote(table)} AS {sql}")

    def map_arrow(self, table: str, sql: str, fn: ArrowMap, schema: pa.Schema) -> None:
        # In one process the function sees every row at once, so it can work per distinct value across all.
        self.register_arrow(table, fn(self.to_arrow(sql)).cast(schema))

    def collect(self, table: str) -> pa.Table:
        held = self._held.get(table)
        if isinstance(held, pa.Table):
            return held
        return self.to_arrow(f"SELECT * FROM {lake_engine.quote(table)}")

    def splink_api(self) -> Any:
        from splink import DuckDBAPI

        return DuckDBAPI(self.con)

    def drop(self, prefix: str) -> None:
        for name in [n for n in self._held if n.startswith(prefix)]:
            self.con.unregister(name)
            del self._held[name]
        found = self.con.execute(
            "SELECT table_name, table_type FROM information_schema.tables WHERE starts_with(table_name, $p)",
            {"p": prefix},
        ).fetchall()
        for name, kind in found:
            self.con.execute(
                f"DROP {'VIEW' if kind == 'VIEW' else 'TABLE'} IF EXISTS {lake_engine.quote(name)}"
            )

    @contextmanager
    def memory_bound(self, limit: str) -> Iterator[None]:
        before = self.con.sql("SELECT current_setting('memory_limit')").fetchall()[0][0]
        self.con.execute(f"SET memory_limit = '{limit}'")
        try:
            yield
        finally:
            self.con.execute(f"SET memory_limit = '{before}'")

    def close(self) -> None:
        for name in list(self._held):
            self.con.unregister(name)
        self._held.clear()
        if self._owned:
            self.con.close()


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
