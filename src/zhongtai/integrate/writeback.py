"""Write batch scores back into a table of the source system itself, so its own screens show them.

The table is created when missing, keyed by the scores' key columns, with the task's columns and
`model_name`, `model_version`, `run_id` and `scored_at`. A run compares each row with the one already stored
and upserts only the rows that are new or whose values (or model version) changed, so a rerun with the same
inputs and version changes nothing (the rows keep the run id and time of the run that last changed them),
and a new version updates rows in place. A recommendation's person (`BatchScores.groups`) is replaced as a
whole: the ranks beyond their new answer are removed.

A run is one transaction: a failure midway (the database refusing a row, the process stopped) leaves the
table as it was. `dry_run` counts what would change and writes nothing.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

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
RUN_COLUMNS = ("model_name", "model_version", "run_id", "scored_at")
# Values read back equal to this relative tolerance count as unchanged (a single-precision FLOAT column of
# an older table rounds what it stores).
FLOAT_TOLERANCE = 1e-6


@dataclass(frozen=True)
class WriteSummary:
    """What a write-back run did (or, with `dry_run`, would do)."""

    source: str
    table: str
    run_id: str
    rows: int  # rows of the run
    inserted: int
    updated: int
    unchanged: int
    removed: int  # a recommendation's ranks beyond a person's new answer
    dry_run: bool

    @property
    def written(self) -> int:
        """Rows inserted or updated."""
        return self.inserted + self.updated


def run_columns(scores: BatchScores, run_id: str, scored_at: datetime) -> dict[str, Any]:
    """The columns every written row carries besides the scores: which model version, which run, when."""
    return {
        "model_name": scores.model.model,
        "model_version": scores.model.version,
        "run_id": run_id,
        "scored_at": scored_at,
    }


def new_run() -> tuple[str, datetime]:
    """A run id and the time the run scored (UTC, whole seconds, as the databases keep it)."""
    return uuid.uuid4().hex, datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def write_back(
    store: MetadataStore, scores: BatchScores, on_progress: Callable[[int], None] | None = None
) -> int:
    """Upsert every score into the capability's write-back table; returns the rows of the run."""
    return write_scores(store, scores, on_progress=on_progress).rows


def write_scores(
    store: MetadataStore,
    scores: BatchScores,
    *,
    dry_run: bool = False,
    on_progress: Callable[[int], None] | None = None,
) -> WriteSummary:
    """Upsert the new and changed rows of `scores` into the capability's write-back table, in one
    transaction; `on_progress` is called with the rows compared after each chunk."""
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
    _check_keys(scores)
    run_id, scored_at = new_run()
    engine = sa.create_engine(resolve(source.url))
    try:
        with engine.begin() as conn:
            table = _table(target.table, scores)
            exists = _existing_table(conn, table, target.source)
            if not exists and not dry_run:
                table.create(conn)
            counts = _upsert_all(
                conn, table, scores, run_columns(scores, run_id, scored_at), exists, dry_run, on_progress
            )
            removed = _remove_stale(conn, table, scores, dry_run) if exists else 0
    except sa.exc.SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        raise SourceError(
            f"write-back to {mask_url(resolve(source.url))} table {target.table} failed: {reason}",
            "nothing was written: the run is one transaction",
        ) from None
    finally:
        engine.dispose()
    inserted, updated, unchanged = counts
    return WriteSummary(
        source=target.source,
        table=target.table,
        run_id=run_id,
        rows=scores.table.num_rows,
        inserted=inserted,
        updated=updated,
        unchanged=unchanged,
        removed=removed,
        dry_run=dry_run,
    )


def _check_keys(scores: BatchScores) -> None:
    """Key columns are set and unique: each is one upserted row."""
    table = scores.table
    for key in scores.join_keys:
        if table.column(key).null_count:
            raise ZhongtaiError("invalid_argument", f"key column '{key}' is empty in some scored rows")
    if table.num_rows and table.group_by(scores.join_keys).aggregate([]).num_rows != table.num_rows:
        raise ZhongtaiError(
            "invalid_argument",
            f"the scored rows repeat a key ({', '.join(scores.join_keys)})",
            "set write_back.keys to a column unique per row",
        )


def _upsert_all(
    conn: sa.Connection,
    table: sa.Table,
    scores: BatchScores,
    extra: dict[str, Any],
    exists: bool,
    dry_run: bool,
    on_progress: Callable[[int], None] | None,
) -> tuple[int, int, int]:
    """(inserted, updated, unchanged) over every chunk of rows."""
    keys = scores.join_keys
    compared = [c for c in scores.table.column_names if c not in keys] + ["model_name", "model_version"]
    statement = _upsert(conn.dialect.name, table, keys)
    inserted = updated = unchanged = 0
    for start in range(0, scores.table.num_rows, BATCH_ROWS):
        rows = [
            {**{k: _naive(v) for k, v in row.items()}, **extra}
            for row in scores.table.slice(start, BATCH_ROWS).to_pylist()
        ]
        stored = _stored(conn, table, keys, compared, rows) if exists else {}
        changed = []
        for row in rows:
            before = stored.get(tuple(row[k] for k in keys))
            if before is None:
                inserted += 1
            elif all(_same(before[c], row[c]) for c in compared):
                unchanged += 1
                continue
            else:
                updated += 1
            changed.append(row)
        if changed and not dry_run:
            conn.execute(statement, changed)
        if on_progress:
            on_progress(len(rows))
    return inserted, updated, unchanged


def _stored(
    conn: sa.Connection, table: sa.Table, keys: list[str], compared: list[str], rows: list[dict]
) -> dict[tuple, dict[str, Any]]:
    """The stored values of the rows' keys, by key."""
    wanted = [tuple(row[k] for k in keys) for row in rows]
    columns = [table.c[k] for k in keys]
    where = columns[0].in_([w[0] for w in wanted]) if len(keys) == 1 else sa.tuple_(*columns).in_(wanted)
    query = sa.select(*columns, *(table.c[c] for c in compared)).where(where)
    return {tuple(found[: len(keys)]): found._asdict() for found in conn.execute(query)}


def _naive(value: Any) -> Any:
    """A time as UTC without a zone (as every dialect's DATETIME keeps it), anything else as it is."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def _same(stored: Any, new: Any) -> bool:
    if isinstance(stored, float) or isinstance(new, float):
        if stored is None or new is None:
            return stored is new
        return math.isclose(float(stored), float(new), rel_tol=FLOAT_TOLERANCE, abs_tol=1e-12)
    return bool(stored == new)


def _remove_stale(conn: sa.Connection, table: sa.Table, scores: BatchScores, dry_run: bool) -> int:
    """Delete (or count) each scored group's stored ranks beyond its new answer."""
    if scores.groups is None:
        return 0
    keys = scores.groups.column_names
    ranks = scores.table.group_by(keys).aggregate([("rank", "max")])
    best = {tuple(r[k] for k in keys): r["rank_max"] for r in ranks.to_pylist()}
    removed = 0
    for start in range(0, scores.groups.num_rows, BATCH_ROWS):
        by_length: dict[int, list[tuple]] = {}
        for row in scores.groups.slice(start, BATCH_ROWS).to_pylist():
            group = tuple(row[k] for k in keys)
            by_length.setdefault(best.get(group, 0), []).append(group)
        for length, groups in by_length.items():
            columns = [table.c[k] for k in keys]
            where = sa.and_(
                columns[0].in_([g[0] for g in groups]) if len(keys) == 1 else sa.tuple_(*columns).in_(groups),
                table.c["rank"] > length,
            )
            if dry_run:
                removed += conn.execute(
                    sa.select(sa.func.count()).select_from(table).where(where)
                ).scalar_one()
            else:
                removed += conn.execute(sa.delete(table).where(where)).rowcount
    return removed


def _existing_table(conn: sa.Connection, table: sa.Table, source: str) -> bool:
    """Whether the table exists; one without a column a run writes is an error naming the columns."""
    inspector = sa.inspect(conn)
    if not inspector.has_table(table.name):
        return False
    present = {c["name"] for c in inspector.get_columns(table.name)}
    missing = [c.name for c in table.columns if c.name not in present]
    if missing:
        raise ZhongtaiError(
            "invalid_argument",
            f"table {table.name} in source '{source}' has no column {', '.join(missing)}",
            "it was made for other scores (or by an older Zhongtai): drop it or set another write_back.table",
        )
    return True


def _table(name: str, scores: BatchScores) -> sa.Table:
    schema = scores.table.schema
    keys = [
        sa.Column(key, _sql_type(schema.field(key).type, key=True), primary_key=True, autoincrement=False)
        for key in scores.join_keys
    ]
    values = [
        sa.Column(f.name, _sql_type(f.type, key=False), nullable=f.name != "decision")
        for f in schema
        if f.name not in scores.join_keys
    ]
    return sa.Table(
        name,
        sa.MetaData(),
        *keys,
        *values,
        sa.Column("model_name", sa.String(128), nullable=False),
        sa.Column("model_version", sa.Integer, nullable=False),
        sa.Column("run_id", sa.String(32), nullable=False),
        sa.Column("scored_at", sa.DateTime, nullable=False),
    )


def _sql_type(arrow: pa.DataType, key: bool) -> sa.types.TypeEngine:
    if pa.types.is_integer(arrow):
        return sa.BigInteger()
    if pa.types.is_floating(arrow):
        return sa.Double()
    if pa.types.is_boolean(arrow):
        return sa.Boolean()
    if pa.types.is_timestamp(arrow):  # microseconds kept on MySQL too, so a rerun compares equal
        return sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
    if pa.types.is_date(arrow):
        return sa.Date()
    # Keys are indexed (MySQL needs a bounded length); values may be long (a recommendation's reason).
    return sa.String(128) if key else sa.Text()


def _upsert(dialect: str, table: sa.Table, keys: Sequence[str]) -> sa.Insert:
    changing = [c.name for c in table.columns if c.name not in keys]
    if dialect in ("postgresql", "sqlite"):
        module = postgresql if dialect == "postgresql" else sqlite
        statement = module.insert(table)
        return statement.on_conflict_do_update(
            index_elements=list(keys), set_={c: statement.excluded[c] for c in changing}
        )
    if dialect in ("mysql", "mariadb"):
        statement = mysql.insert(table)
        return statement.on_duplicate_key_update({c: statement.inserted[c] for c in changing})
    raise ZhongtaiError("invalid_argument", f"write-back does not support {dialect} databases yet")
