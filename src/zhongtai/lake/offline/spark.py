"""The Apache Spark offline engine (PySpark): `spark://local[*]` in one process, `spark://host:7077` on a cluster.

Queries arrive in DuckDB's dialect and are transpiled with sqlglot. The session runs with UTC as its time zone
and `TIMESTAMP` meaning a timestamp without zone (`spark.sql.timestampType=TIMESTAMP_NTZ`), which is what
DuckDB's `TIMESTAMP` is, so event times compare and come out the same on both engines. One session serves
the whole process (it takes seconds to start): engines share it, and `close` drops only their own tables.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import nullcontext
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from zhongtai.errors import ZhongtaiError
from zhongtai.lake.offline.base import ArrowMap, Progress

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from zhongtai.lake.storage import LakeStorage

# Masters given verbatim after `spark://`; anything else there is a standalone master's host:port.
_VERBATIM = ("local", "yarn", "k8s://", "mesos://")
_TYPES = {
    "bigint": "BIGINT", "int": "INTEGER", "smallint": "SMALLINT", "tinyint": "TINYINT", "double": "DOUBLE",
    "float": "FLOAT", "string": "VARCHAR", "boolean": "BOOLEAN", "timestamp_ntz": "TIMESTAMP",
    "timestamp": "TIMESTAMP WITH TIME ZONE", "date": "DATE", "binary": "BLOB", "void": '"NULL"',
}  # fmt: skip


def master_of(url: str) -> str:
    """The Spark master a `spark://...` engine URL names: `spark://local[2]` -> `local[2]`,
    `spark://host:7077` -> `spark://host:7077`, `spark://yarn` -> `yarn`."""
    rest = url.split("://", 1)[1] if "://" in url else ""
    if not rest:
        raise ZhongtaiError(
            "invalid_argument",
            f"offline engine {url!r} (ZT_OFFLINE_ENGINE) names no Spark master",
            "write `spark://local[*]` for Spark in this process or `spark://host:7077` for a cluster",
        )
    return rest if rest.startswith(_VERBATIM) else f"spark://{rest}"


def session(master: str) -> SparkSession:
    """The process's Spark session, started on first use with the settings every query relies on."""
    from pyspark.sql import SparkSession

    # Python workers must be this interpreter (with pyarrow and zhongtai), not whatever `python3` is first.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = (
        SparkSession.builder.master(master)
        .appName("zhongtai")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.timestampType", "TIMESTAMP_NTZ")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
    )
    jar = _splink_jar()
    if jar:
        builder = builder.config("spark.jars", jar)
    if master.startswith("local"):
        # Small local data: Spark's default of 200 shuffle partitions would be mostly scheduling overhead.
        builder = builder.config("spark.sql.shuffle.partitions", str(os.cpu_count() or 2))
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def _splink_jar() -> str | None:
    """Splink's Scala similarity functions (Jaro-Winkler, Damerau-Levenshtein...), shipped in its wheel."""
    try:
        from splink.backends.spark import similarity_jar_location
    except ImportError:
        return None
    return similarity_jar_location()


def open_engine(url: str, storage: LakeStorage) -> SparkEngine:
    return SparkEngine(session(master_of(url)), storage)


def to_spark_sql(sql: str) -> str:
    """DuckDB-dialect SQL as Spark SQL, with two functions sqlglot leaves as they are rewritten:

    - `timezone('UTC', ts)` (an instant as UTC wall-clock time) becomes a cast to TIMESTAMP_NTZ, the same
      thing in a session whose time zone is UTC;
    - `hash(a, b...)`, DuckDB's 64-bit hash over values and nulls, becomes `xxhash64(a, b..., mask)`: Spark's
      `hash` is 32 bits (collisions by the thousand in a million rows) and both skip nulls, so the mask of
      which arguments are null keeps ('x', NULL) and (NULL, 'x') apart."""
    import sqlglot
    from sqlglot import exp

    def rewrite(node: exp.Expr) -> exp.Expr:
        if not isinstance(node, exp.Anonymous):
            return node
        name, args = str(node.this).lower(), node.expressions
        if name == "timezone" and len(args) == 2 and args[0].name.upper() == "UTC":
            return exp.cast(args[1], exp.DataType.build("TIMESTAMP_NTZ", dialect="spark"))
        if name == "hash" and args:
            values = [a.sql(dialect="spark") for a in args]
            mask = ", ".join(f"CASE WHEN ({v}) IS NULL THEN '1' ELSE '0' END" for v in values)
            return sqlglot.parse_one(f"xxhash64({', '.join(values)}, concat({mask}))", read="spark")
        return node

    try:
        tree = sqlglot.parse_one(sql, read="duckdb")
    except sqlglot.errors.ParseError as exc:
        raise ZhongtaiError("invalid_spec", f"SQL does not parse: {str(exc).splitlines()[0]}") from None
    return tree.transform(rewrite).sql(dialect="spark")


class SparkEngine:
    """Named tables are the session's temporary views; kept tables are persisted (memory, then disk)."""

    name = "spark"
    asof_join = False

    def __init__(self, spark: SparkSession, storage: LakeStorage | None = None) -> None:
        self.spark = spark
        self.storage = storage
        self._views: set[str] = set()
        self._kept: dict[str, DataFrame] = {}

    def _path(self, path: str) -> str:
        if self.storage is None:
            return path
        shown = self.storage.display(path)
        return "s3a://" + shown[len("s3://") :] if shown.startswith("s3://") else shown

    def _sql(self, sql: str, where: str) -> DataFrame:
        try:
            return self.spark.sql(to_spark_sql(sql))
        except ZhongtaiError as exc:
            raise ZhongtaiError(exc.code, f"{where}: {exc.message}", exc.hint) from None
        except Exception as exc:
            raise ZhongtaiError("invalid_spec", f"{where}: {_first_line(exc)}") from None

    def _name(self, table: str, df: DataFrame) -> None:
        df.createOrReplaceTempView(table)
        self._views.add(table)

    def register(self, table: str, files: list[str]) -> None:
        reader = self.spark.read.option("mergeSchema", "true")
        self._name(table, reader.parquet(*(self._path(f) for f in files)))

    def register_arrow(self, table: str, data: pa.Table) -> None:
        self._name(table, self.spark.createDataFrame(data))

    def columns(self, sql: str, where: str) -> dict[str, str]:
        df = self._sql(sql, where)
        return {f.name: _duckdb_type(f.dataType.simpleString()) for f in df.schema.fields}

    def to_arrow(self, sql: str, where: str = "offline query") -> pa.Table:
        df = self._sql(sql, where)
        try:
            return _small_strings(df.toArrow())
        except Exception as exc:
            raise ZhongtaiError("invalid_argument", f"{where}: {_first_line(exc)}") from None

    def write_parquet(
        self, sql: str, folder: str, where: str, on_progress: Progress | None = None
    ) -> tuple[list[str], int]:
        if self.storage is None:
            raise ZhongtaiError("invalid_argument", f"{where}: this engine has no lake to write to")
        df = self._sql(sql, where)
        try:
            df.write.mode("overwrite").parquet(self._path(folder))
        except Exception as exc:
            raise ZhongtaiError("invalid_spec", f"{where}: {_first_line(exc)}") from None
        files = _tidy(self.storage, folder, df)
        rows = sum(pq.read_metadata(f, filesystem=self.storage.arrow_fs()).num_rows for f in files)
        if on_progress:
            on_progress(rows)
        return files, rows

    def create(self, table: str, sql: str) -> None:
        self._keep(table, self._sql(sql, f"table {table}"))

    def _keep(self, table: str, df: DataFrame) -> None:
        from pyspark import StorageLevel

        if table in self._kept:
            self._kept.pop(table).unpersist()
        kept = df.persist(StorageLevel.MEMORY_AND_DISK)
        kept.count()  # computed once, here, so later queries read the kept rows
        self._kept[table] = kept
        self._name(table, kept)

    def map_arrow(self, table: str, sql: str, fn: ArrowMap, schema: pa.Schema) -> None:
        from pyspark.sql.pandas.types import from_arrow_schema

        def batches(parts: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
            for part in parts:
                if part.num_rows:
                    yield from fn(pa.Table.from_batches([part])).cast(schema).to_batches()

        source = self._sql(sql, f"table {table}")
        self._keep(table, source.mapInArrow(batches, from_arrow_schema(schema, prefer_timestamp_ntz=True)))

    def collect(self, table: str) -> pa.Table:
        # A kept table computed from an ordered query holds its rows in partition order, and collecting
        # concatenates partitions in order.
        return _small_strings(self.spark.table(table).toArrow())

    def splink_api(self) -> Any:
        from splink import SparkAPI

        # Splink's intermediate tables are persisted in the session rather than written to a checkpoint
        # folder, so no shared scratch path needs configuring; in one process, repartitioning them only
        # adds shuffles.
        local = str(self.spark.sparkContext.master).startswith("local")
        return SparkAPI(
            spark_session=self.spark,
            break_lineage_method="persist",
            num_partitions_on_repartition=1 if local else None,
        )

    def drop(self, prefix: str) -> None:
        for table in [
            t for t in self.spark.catalog.listTables() if t.isTemporary and t.name.startswith(prefix)
        ]:
            self._forget(table.name)

    def _forget(self, table: str) -> None:
        kept = self._kept.pop(table, None)
        if kept is not None:
            kept.unpersist()
        elif self.spark.catalog.tableExists(table):
            self.spark.table(table).unpersist()
        self.spark.catalog.dropTempView(table)
        self._views.discard(table)

    def memory_bound(self, limit: str) -> nullcontext[None]:
        return nullcontext()

    def close(self) -> None:
        for table in list(self._views | set(self._kept)):
            self._forget(table)


def _tidy(storage: LakeStorage, folder: str, df: DataFrame) -> list[str]:
    """The part files Spark wrote, with its markers and checksums removed (the folder is published as is);
    a result with no rows still gets one file carrying its schema."""
    files = []
    for name in sorted(storage.listdir(folder)):
        path = f"{folder}/{name}"
        if name.endswith(".parquet") and not name.startswith((".", "_")):
            files.append(path)
        else:
            storage.remove(path)
    if not files:
        empty = f"{folder}/part-00000.parquet"
        pq.write_table(_small_strings(df.limit(0).toArrow()), empty, filesystem=storage.arrow_fs())
        files.append(empty)
    return files


def _duckdb_type(spark_type: str) -> str:
    """A Spark type's DuckDB name (the dialect our SQL and its checks speak): bigint -> BIGINT..."""
    if spark_type.startswith("decimal"):
        return spark_type.upper()
    return _TYPES.get(spark_type, spark_type.upper())


def _small_strings(table: pa.Table) -> pa.Table:
    """Spark may hand strings over as large_string; the rest of the platform (and DuckDB) uses string."""
    fields = [f.with_type(pa.string()) if pa.types.is_large_string(f.type) else f for f in table.schema]
    return table.cast(pa.schema(fields)) if fields != list(table.schema) else table


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
