"""Running feature-view and label SQL (DuckDB dialect) over lake datasets referenced by name.

The SQL says `FROM erp_orders`; before it runs, each dataset it reads becomes a DuckDB view over the files of
the dataset's current version, and the versions used are returned so builds and training sets keep lineage.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from zhongtai.errors import ZhongtaiError
from zhongtai.lake import engine

if TYPE_CHECKING:
    import duckdb

# DuckDB types that already are a wall-clock timestamp; anything else is cast (or, with a zone, moved to UTC).
_NAIVE_TIMESTAMPS = ("TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS", "DATE")


def output_columns(con: duckdb.DuckDBPyConnection, sql: str, where: str) -> dict[str, str]:
    """The SQL's output columns and their DuckDB types, without running it."""
    import duckdb

    try:
        relation = con.sql(sql)
    except duckdb.Error as exc:
        raise ZhongtaiError("invalid_spec", f"{where}: {_first_line(exc)}") from None
    if relation is None:
        raise ZhongtaiError("invalid_spec", f"{where}: expected a SELECT statement")
    return {name: str(kind) for name, kind in zip(relation.columns, relation.types, strict=True)}


def timestamp_expr(column: str, duckdb_type: str) -> str:
    """An expression giving the column as a TIMESTAMP in UTC without zone: one comparable kind of event time."""
    quoted = engine.quote(column)
    if duckdb_type == "TIMESTAMP WITH TIME ZONE":
        return f"timezone('UTC', {quoted})"
    if duckdb_type == "TIMESTAMP":
        return quoted
    if duckdb_type in _NAIVE_TIMESTAMPS or duckdb_type == "VARCHAR":
        return f"CAST({quoted} AS TIMESTAMP)"
    raise ZhongtaiError(
        "invalid_spec",
        f"column '{column}' is {duckdb_type}, not a timestamp",
        "select a TIMESTAMP, TIMESTAMPTZ, DATE or ISO-8601 text column as the event time",
    )


def missing(required: list[str], present: dict[str, str]) -> list[str]:
    """The required names that are not among the present columns, in the order required."""
    return [name for name in required if name not in present]


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
