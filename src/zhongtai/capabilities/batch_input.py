"""The rows a batch scores, when not every entity: a lake dataset's current version, or DuckDB SQL over
lake datasets (each dataset the SQL names is a view over its current version, as feature views read them).

Rows must carry the columns the capability answers by (its entity key or keys, the text of a text
capability, the store of a recommendation with a stock rule) and the write-back key columns; a missing one is
an error naming the column and where the rows came from. Errors never quote a value of the rows: a DuckDB
error that comes from the data (a failed cast, say) is reported by its kind only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa

from zhongtai.errors import ZhongtaiError
from zhongtai.lake import engine
from zhongtai.lake.reader import read_table
from zhongtai.lake.storage import LakeStorage
from zhongtai.lake.views import open_datasets
from zhongtai.meta.store import MetadataStore

# DuckDB errors about the SQL itself (safe to show: they quote the query, never the data).
_SQL_ERRORS = ("ParserException", "BinderException", "CatalogException", "SyntaxException")


@dataclass(frozen=True)
class BatchRows:
    """Rows to score and where they came from (`dataset 'tickets' v3` or `the query`), for messages."""

    table: pa.Table
    origin: str


def dataset_rows(store: MetadataStore, storage: LakeStorage, name: str) -> BatchRows:
    """Every row of a lake dataset's current version."""
    if name not in store.registered("datasets"):
        raise ZhongtaiError(
            "not_found", f"no dataset '{name}'", "`zhongtai datasets list` shows the registered datasets"
        )
    current = store.current_version(name)
    version = f" v{current.version}" if current else ""
    return BatchRows(read_table(store, storage, name), f"dataset '{name}'{version}")


def query_rows(store: MetadataStore, storage: LakeStorage, sql: str) -> BatchRows:
    """The rows of a DuckDB query over lake datasets, read by name."""
    import duckdb

    where = "--query"
    con = engine.connect(storage)
    try:
        open_datasets(con, store, storage, sql, where)
        table = con.sql(sql).to_arrow_table()
    except duckdb.Error as exc:
        kind = type(exc).__name__
        if kind in _SQL_ERRORS:
            reason = str(exc).strip().splitlines()[0]
            raise ZhongtaiError(
                "invalid_argument", f"{where}: {reason}", "fix the SQL and run again"
            ) from None
        raise ZhongtaiError(
            "invalid_argument",
            f"{where}: the query failed while reading the data ({kind})",
            "check the casts and functions of the query against the datasets' columns",
        ) from None
    except AttributeError:  # a statement that returns no rows (DDL, SET)
        raise ZhongtaiError(
            "invalid_argument", f"{where}: the SQL returns no rows", "give a SELECT over datasets"
        ) from None
    finally:
        con.close()
    return BatchRows(table, "the query")


def require_columns(rows: BatchRows, columns: Sequence[str], what: str) -> None:
    """Every named column is in the rows, with no null; `what` says why it is needed."""
    present = set(rows.table.column_names)
    for column in columns:
        if column not in present:
            raise ZhongtaiError(
                "invalid_argument",
                f"{rows.origin} has no column '{column}' ({what})",
                f"its columns: {', '.join(rows.table.column_names) or 'none'}; "
                f"select or rename one as {column}",
            )
        nulls = rows.table.column(column).null_count
        if nulls:
            raise ZhongtaiError(
                "invalid_argument",
                f"{rows.origin}: column '{column}' ({what}) is empty in {nulls:,} row(s)",
                "filter them out (WHERE ... IS NOT NULL) with --query",
            )


def require_unique(rows: BatchRows, keys: Sequence[str], hint: str) -> None:
    """No two rows share the key columns (each becomes one upserted row)."""
    if not rows.table.num_rows:
        return
    groups = rows.table.group_by(list(keys)).aggregate([])
    duplicates = rows.table.num_rows - groups.num_rows
    if duplicates:
        raise ZhongtaiError(
            "invalid_argument",
            f"{rows.origin}: {duplicates:,} row(s) repeat a key ({', '.join(keys)}) another row has",
            hint,
        )
