"""Write batch scores back into a table of the source system itself, so its own screens show them.

The table is created when missing and rows are upserted by the entity key: re-running replaces each row,
so the write-back is idempotent.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pyarrow as pa
import sqlalchemy as sa
from pydantic import TypeAdapter
from sqlalchemy.dialects import mysql, postgresql, sqlite

from zhongtai.capabilities.batch import BatchScores
from zhongtai.config import mask_url
from zhongtai.errors import SourceError, ZhongtaiError
from zhongtai.meta.store import MetadataStore
from zhongtai.spec.models import SourceSpec, SqlSource
from zhongtai.spec.secrets import resolve

BATCH_ROWS = 5_000


def write_back(
    store: MetadataStore, scores: BatchScores, on_progress: Callable[[int], None] | None = None
) -> int:
    """Upsert every score into the capability's write-back table; returns rows written."""
    target = scores.capability.write_back
    if target is None:
        raise ZhongtaiError(
            "invalid_argument",
            f"capability '{scores.capability.name}' has no write_back target",
            "add write_back: {source: NAME, table: TABLE} to its spec",
        )
    source = TypeAdapter(SourceSpec).validate_python(store.source_spec(target.source))
    if not isinstance(source, SqlSource):
        raise ZhongtaiError("invalid_argument", f"write_back source '{target.source}' is not a SQL source")
    engine = sa.create_engine(resolve(source.url))
    try:
        table = _table(target.table, scores, engine)
        rows = _rows(scores)
        with engine.begin() as conn:
            table.create(conn, checkfirst=True)
            for start in range(0, len(rows), BATCH_ROWS):
                chunk = rows[start : start + BATCH_ROWS]
                conn.execute(_upsert(engine.dialect.name, table, scores.join_keys), chunk)
                if on_progress:
                    on_progress(len(chunk))
    except sa.exc.SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        raise SourceError(
            f"write-back to {mask_url(resolve(source.url))} table {target.table} failed: {reason}"
        ) from None
    finally:
        engine.dispose()
    return len(rows)


def _table(name: str, scores: BatchScores, engine: sa.Engine) -> sa.Table:
    keys = [
        sa.Column(key, _sql_type(scores.table.schema.field(key).type), primary_key=True, autoincrement=False)
        for key in scores.join_keys
    ]
    return sa.Table(
        name,
        sa.MetaData(),
        *keys,
        sa.Column("score", sa.Float),
        sa.Column("decision", sa.String(64), nullable=False),
        sa.Column("model_name", sa.String(128), nullable=False),
        sa.Column("model_version", sa.Integer, nullable=False),
        sa.Column("scored_at", sa.DateTime, nullable=False),
    )


def _sql_type(arrow: pa.DataType) -> sa.types.TypeEngine:
    if pa.types.is_integer(arrow):
        return sa.BigInteger()
    return sa.String(128)


def _rows(scores: BatchScores) -> list[dict]:
    scored_at = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    extra = {"model_name": scores.model.model, "model_version": scores.model.version, "scored_at": scored_at}
    return [{**row, **extra} for row in scores.table.to_pylist()]


def _upsert(dialect: str, table: sa.Table, keys: list[str]) -> sa.Insert:
    changing = [c.name for c in table.columns if c.name not in keys]
    if dialect in ("postgresql", "sqlite"):
        module = postgresql if dialect == "postgresql" else sqlite
        statement = module.insert(table)
        return statement.on_conflict_do_update(
            index_elements=keys, set_={c: statement.excluded[c] for c in changing}
        )
    if dialect in ("mysql", "mariadb"):
        statement = mysql.insert(table)
        return statement.on_duplicate_key_update({c: statement.inserted[c] for c in changing})
    raise ZhongtaiError("invalid_argument", f"write-back does not support {dialect} databases yet")
