"""The offline engine protocol and the registry that picks a backend from `ZT_OFFLINE_ENGINE` (lazy imports).

Every query handed to an engine is written in DuckDB's dialect; a backend that speaks another one (Spark)
transpiles it with sqlglot. Tables are named: a query reads `FROM orders` once `register` has put a table of
that name over the dataset's Parquet files, so the same SQL runs on every backend.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast, runtime_checkable

from zhongtai.errors import ZhongtaiError

if TYPE_CHECKING:
    import pyarrow as pa

    from zhongtai.lake.storage import LakeStorage

Progress = Callable[[int], None]
ArrowMap = Callable[["pa.Table"], "pa.Table"]

# One module per backend; each exposes `open_engine(url: str, storage: LakeStorage) -> OfflineEngine`.
_BACKENDS = {"duckdb": "zhongtai.lake.offline.duckdb", "spark": "zhongtai.lake.offline.spark"}


@runtime_checkable
class OfflineEngine(Protocol):
    """What feature builds and training sets need: named tables over Parquet, typed SQL, results out.

    `asof_join` is an ability flag: True when the engine runs DuckDB's `ASOF LEFT JOIN` (a sort-merge that
    needs no window over the joined history); other engines get the portable point-in-time query.
    """

    name: str
    asof_join: bool

    def register(self, table: str, files: list[str]) -> None:
        """Make `table` a name queries can read: the given Parquet part files, columns unified by name."""
        ...

    def register_arrow(self, table: str, data: pa.Table) -> None:
        """Make `table` a name over an Arrow table held by the caller."""
        ...

    def columns(self, sql: str, where: str) -> dict[str, str]:
        """The query's output columns and their types as DuckDB names them (TIMESTAMP, VARCHAR...), without
        running it; a query the engine cannot plan is a ZhongtaiError naming `where`."""
        ...

    def to_arrow(self, sql: str, where: str = "offline query") -> pa.Table:
        """Run a query and collect its rows (for results that fit in memory); a failure is a ZhongtaiError
        that starts with `where`."""
        ...

    def write_parquet(
        self, sql: str, folder: str, where: str, on_progress: Progress | None = None
    ) -> tuple[list[str], int]:
        """Run a query into Parquet part files under `folder`; returns (files, rows). A value that cannot be
        computed (a bad cast...) is a ZhongtaiError naming `where`, and may leave files for the caller to drop."""
        ...

    def close(self) -> None:
        """Drop what this engine registered; a shared Spark session itself stays up for the next engine."""
        ...


@runtime_checkable
class ResolutionEngine(OfflineEngine, Protocol):
    """What OneID needs beyond that: a table built by an Arrow function, Splink, and scratch clean-up."""

    def create(self, table: str, sql: str) -> None:
        """Compute a query once and keep the result as `table` (later queries do not recompute it)."""
        ...

    def map_arrow(self, table: str, sql: str, fn: ArrowMap, schema: pa.Schema) -> None:
        """Make `table` the query's rows passed through `fn`, Arrow table in and out (`schema` out), batch by
        batch where the engine is distributed; kept like `create`."""
        ...

    def collect(self, table: str) -> pa.Table:
        """A named table's rows, in the order they were made (a table made from an ordered query keeps it);
        an Arrow table the engine already holds is handed back as it is."""
        ...

    def splink_api(self) -> Any:
        """Splink's database API over this engine (DuckDBAPI or SparkAPI)."""
        ...

    def drop(self, prefix: str) -> None:
        """Drop every table or view whose name starts with `prefix` (Splink's caches, scratch tables)."""
        ...

    def memory_bound(self, limit: str) -> AbstractContextManager[None]:
        """Hold the engine to `limit` (e.g. `1500MB`) within the block where it can be set per query (DuckDB);
        a cluster's memory is its own configuration, so other engines leave it as it is."""
        ...


def open_offline_engine(url: str, storage: LakeStorage) -> ResolutionEngine:
    """The engine for `ZT_OFFLINE_ENGINE`: `duckdb` (default, in process) or `spark://MASTER`
    (`spark://local[2]`, `spark://host:7077`; see docs/configuration.md)."""
    scheme = url.split(":", 1)[0].strip().lower()
    module = _BACKENDS.get(scheme)
    if module is None:
        raise ZhongtaiError(
            "invalid_argument",
            f"offline engine {url!r} (ZT_OFFLINE_ENGINE): unknown engine '{scheme}'",
            "use `duckdb` or a Spark master as `spark://local[*]` or `spark://host:7077`",
        )
    return importlib.import_module(module).open_engine(url, storage)


EngineT = TypeVar("EngineT", bound=OfflineEngine)


@contextmanager
def engine_or_default(offline: EngineT | None, storage: LakeStorage) -> Iterator[EngineT]:
    """The caller's engine as it is, or, without one, an in-process DuckDB engine closed after the block."""
    if offline is not None:
        yield offline
        return
    from zhongtai.lake.offline.duckdb import DuckDBEngine

    default = DuckDBEngine(storage)
    try:
        yield cast(EngineT, default)  # DuckDB implements both protocols
    finally:
        default.close()
