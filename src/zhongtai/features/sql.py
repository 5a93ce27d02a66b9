"""Running feature-view and label SQL (DuckDB dialect) over lake datasets referenced by name.

The SQL says `FROM erp_orders`; before it runs, each dataset it reads becomes a table on the offline engine over
the files of the dataset's current version, and the versions used are returned so builds and training sets keep
lineage. Output column types are DuckDB's names whatever the engine (the Spark engine translates its own).
"""

from __future__ import annotations

from zhongtai.errors import ZhongtaiError
from zhongtai.lake import engine

# DuckDB types that already are a wall-clock timestamp; anything else is cast (or, with a zone, moved to UTC).
_NAIVE_TIMESTAMPS = ("TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS", "DATE")


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
