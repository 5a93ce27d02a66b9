"""Turning freshly staged rows into the next version: what is new, what changed, which files to keep.

Versions are copy-on-write: a version is a plain list of Parquet files with no duplicate keys, so any engine
(DuckDB, Spark, pandas) reads it without merge logic. Files untouched by an incremental ingest are shared with
the previous version; files holding a key that changed are rewritten without it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

from zhongtai.govern.protection import is_encrypted_column
from zhongtai.lake.engine import one, quote, row_hash, run, scan
from zhongtai.lake.parts import PartWriter
from zhongtai.lake.storage import LakeStorage
from zhongtai.meta.records import ColumnInfo, DatasetVersion

BATCH = 100_000


@dataclass
class MergeResult:
    files: list[str]  # the version's files: kept from before + written under the output folder
    rows_added: int
    rows_updated: int
    rows_removed: int
    watermark: object | None
    unchanged: bool = False
    duplicates_dropped: int = 0
    written: list[str] = field(default_factory=list)


def fingerprint(con: duckdb.DuckDBPyConnection, source_sql: str, columns: list[str]) -> str:
    """Order-independent digest of a table's rows: equal data gives an equal fingerprint."""
    h = row_hash(compared(columns))
    count, total = one(con, f"SELECT count(*), coalesce(sum({h}::HUGEINT), 0) FROM {source_sql}")
    return f"{count}:{int(total) % (1 << 64):016x}"


def compared(columns: list[str]) -> list[str]:
    """The columns that say whether two rows are equal. Encrypted copies of PII are left out: a random
    nonce makes every write differ, and the field's token beside them already carries the value."""
    return [c for c in columns if not is_encrypted_column(c)]


def full_snapshot(
    con: duckdb.DuckDBPyConnection,
    storage: LakeStorage,
    staged: list[str],
    columns: list[ColumnInfo],
    current: DatasetVersion | None,
    primary_key: list[str],
    watermark: str | None,
) -> MergeResult:
    """The staged files are the new version; count what differs from the current one."""
    new = scan(storage, staged)
    names = [c.name for c in columns]
    if current is None:
        (rows,) = one(con, f"SELECT count(*) FROM {new}")
        return MergeResult(staged, rows, 0, 0, _max(con, new, watermark), written=staged)
    if [c.name for c in current.schema] == names and fingerprint(con, new, names) == current.fingerprint:
        return MergeResult(current.files, 0, 0, 0, current.watermark, unchanged=True)
    old = scan(storage, current.files)
    current_names = {c.name for c in current.schema}
    common = compared([c for c in names if c in current_names])
    if primary_key and all(k in common for k in primary_key):
        keys = ", ".join(quote(k) for k in primary_key)
        h = row_hash(common)
        added, removed, updated = one(
            con,
            f"""
            WITH n AS (SELECT {keys}, {h} AS h FROM {new}), o AS (SELECT {keys}, {h} AS h FROM {old})
            SELECT
              (SELECT count(*) FROM n ANTI JOIN o USING ({keys})),
              (SELECT count(*) FROM o ANTI JOIN n USING ({keys})),
              (SELECT count(*) FROM n JOIN o USING ({keys}) WHERE n.h <> o.h)
            """,
        )
    else:
        h = row_hash(common)
        added, removed = one(
            con,
            f"""
            SELECT
              (SELECT count(*) FROM (SELECT {h} FROM {new} EXCEPT ALL SELECT {h} FROM {old})),
              (SELECT count(*) FROM (SELECT {h} FROM {old} EXCEPT ALL SELECT {h} FROM {new}))
            """,
        )
        updated = 0
    return MergeResult(staged, added, updated, removed, _max(con, new, watermark), written=staged)


def incremental(
    con: duckdb.DuckDBPyConnection,
    storage: LakeStorage,
    staged: list[str],
    columns: list[ColumnInfo],
    current: DatasetVersion,
    primary_key: list[str],
    watermark: str,
    since: object,
    out_folder: str,
    where: str,
) -> MergeResult:
    """Append what is new since the last watermark; rows with a known key replace their old version."""
    old = scan(storage, current.files)
    current_names = {c.name for c in current.schema}
    common = compared([c.name for c in columns if c.name in current_names])
    h = row_hash(common)
    wm = quote(watermark)
    # Rows at the boundary watermark were read last time too; drop the ones already held, exactly.
    run(
        con,
        f"""
        CREATE OR REPLACE TEMP TABLE delta AS
        SELECT s.* FROM {scan(storage, staged)} s
        WHERE {h} NOT IN (SELECT {h} FROM {old} WHERE {wm} >= $since)
        """,
        {"since": since},
    )
    duplicates = 0
    if primary_key:
        keys = ", ".join(quote(k) for k in primary_key)
        (before,) = one(con, "SELECT count(*) FROM delta")
        run(
            con,
            f"""
            CREATE OR REPLACE TEMP TABLE delta AS SELECT * FROM delta
            QUALIFY row_number() OVER (PARTITION BY {keys} ORDER BY {wm} DESC NULLS LAST) = 1
            """,
        )
        (after,) = one(con, "SELECT count(*) FROM delta")
        duplicates = before - after
    (delta_rows,) = one(con, "SELECT count(*) FROM delta")
    if delta_rows == 0:
        return MergeResult(current.files, 0, 0, 0, current.watermark, unchanged=True)
    new_wm = _max(con, "delta", watermark)
    kept, updated = list(current.files), 0
    rewritten: list[str] = []
    if primary_key:
        keys = ", ".join(quote(k) for k in primary_key)
        affected = [
            row[0]
            for row in run(
                con,
                f"SELECT DISTINCT filename FROM {scan(storage, current.files, filename=True)} "
                f"SEMI JOIN delta USING ({keys})",
            )
        ]
        (updated,) = one(con, f"SELECT count(*) FROM delta SEMI JOIN {old} o USING ({keys})")
        for name in affected:
            original = next(f for f in current.files if storage.display(f) == name)
            kept.remove(original)
            writer = PartWriter(storage, out_folder, f"rewrite-{len(rewritten):05d}", where)
            writer.write_all(
                con.sql(
                    f"SELECT * FROM {scan(storage, [original])} ANTI JOIN delta USING ({keys})"
                ).to_arrow_reader(BATCH)
            )
            rewritten.extend(writer.close())
    writer = PartWriter(storage, out_folder, "part", where)
    writer.write_all(con.sql("SELECT * FROM delta").to_arrow_reader(BATCH))
    added_files = writer.close()
    written = rewritten + added_files
    return MergeResult(
        kept + written,
        delta_rows - updated,
        updated,
        0,
        new_wm,
        duplicates_dropped=duplicates,
        written=written,
    )


def _max(con: duckdb.DuckDBPyConnection, table_sql: str, column: str | None) -> object | None:
    if column is None:
        return None
    (value,) = one(con, f"SELECT max({quote(column)}) FROM {table_sql}")
    return value
