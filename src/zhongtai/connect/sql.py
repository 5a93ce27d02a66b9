"""Read tables and queries of any SQLAlchemy database as Arrow batches, over server-side cursors."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import pyarrow as pa
import sqlalchemy as sa

from zhongtai.config import mask_url
from zhongtai.connect.batches import SchemaTracker, resolve_for
from zhongtai.connect.types import cast_batch
from zhongtai.errors import SourceError, ZhongtaiError
from zhongtai.spec.models import DatasetSpec, SqlSource

# Drivers that take `connect_timeout` (libpq, PyMySQL, mysqlclient): an unreachable host fails in seconds.
_TIMEOUT_DIALECTS = ("postgresql", "mysql", "mariadb")
_DEFAULT_CONNECT_TIMEOUT_S = 10
_PLAIN_VALUES = (str, int, float, bool, decimal.Decimal, dt.date, dt.time, dt.timedelta, bytes)
_QUERY_ALIAS = "zt_query"
_BIND_LIKE = re.compile(r"(?<![:\w\\]):(?=\w)")


def connector(source: SqlSource, environ: Mapping[str, str] | None) -> SqlConnector:
    """The connector for a SQL source; the URL's secrets are resolved when the first connection opens."""
    return SqlConnector(source, environ)


def arrow_type_for(sql_type: sa.types.TypeEngine[Any]) -> pa.DataType:
    """The Arrow type for a reflected SQLAlchemy column type; unknown types become strings."""
    checks: list[tuple[type | tuple[type, ...], Callable[[Any], pa.DataType]]] = [
        (sa.Boolean, lambda _: pa.bool_()),
        (sa.SmallInteger, lambda _: pa.int32()),
        (sa.Integer, lambda _: pa.int64()),
        (sa.Float, lambda _: pa.float64()),
        (sa.Numeric, _decimal_type),
        ((sa.Enum, sa.String, sa.JSON), lambda _: pa.string()),
        (sa.DateTime, lambda t: pa.timestamp("us", tz="UTC" if t.timezone else None)),
        (sa.Date, lambda _: pa.date32()),
        (sa.Time, lambda _: pa.time64("us")),
        ((sa.LargeBinary, sa.BINARY, sa.VARBINARY), lambda _: pa.binary()),
    ]
    for kinds, make in checks:
        if isinstance(sql_type, kinds):
            return make(sql_type)
    return pa.string()


def _decimal_type(sql_type: sa.Numeric[Any]) -> pa.DataType:
    precision, scale = sql_type.precision, sql_type.scale or 0
    if precision is None or precision > 76 or scale > precision:
        return pa.float64()
    return pa.decimal128(precision, scale) if precision <= 38 else pa.decimal256(precision, scale)


class SqlConnector:
    """One SQL source. The engine (and its pool) is created on first use and disposed by `close`."""

    def __init__(self, source: SqlSource, environ: Mapping[str, str] | None) -> None:
        self.source = source
        self._environ = environ
        self._engine: sa.Engine | None = None

    def check(self) -> str:
        """Connect, run `SELECT 1` and describe the server, e.g. `postgresql 15.19 at 127.0.0.1:5432/db`."""
        engine = self._get_engine()
        with self._connect(self._where()) as conn:
            conn.execute(sa.select(sa.literal(1))).scalar_one()
        dialect = engine.dialect
        name = "mariadb" if getattr(dialect, "is_mariadb", False) else dialect.name
        version = ".".join(str(part) for part in (dialect.server_version_info or ()) if isinstance(part, int))
        url = engine.url
        place = f"{url.host}:{url.port or ''}/{url.database or ''}" if url.host else url.database or ""
        return f"{name} {version} at {place}"

    def schema(self, dataset: DatasetSpec) -> pa.Schema:
        """Reflected for a table; for a query, read until every column has shown a non-null value."""
        where = self._where(dataset)
        if dataset.table is not None:
            with self._connect(where) as conn:
                table = self._reflect(conn, dataset, where)
            return _declared(_table_schema(table), dataset, where)
        tracker = SchemaTracker(where)
        for batch in self._query_batches(dataset, None, where, limit=dataset.batch_rows):
            tracker.conform(batch, where)
        if tracker.schema is not None and tracker.has_nulls():
            for batch in self._query_batches(dataset, None, where):
                tracker.conform(batch, where)
                if not tracker.has_nulls():
                    break
        return tracker.schema if tracker.schema is not None else pa.schema([])

    def read(self, dataset: DatasetSpec, since: Any | None = None) -> Iterator[pa.RecordBatch]:
        """Stream the table or query in batches of at most `batch_rows`, ordered by the watermark if any."""
        where = self._where(dataset)
        declared = dataset.declared_types()
        if dataset.table is not None:
            batches = self._table_batches(dataset, since, where)
        else:
            tracker = SchemaTracker(where)
            batches = (tracker.conform(b, where) for b in self._query_batches(dataset, since, where))
        for batch in batches:
            if batch.num_rows:
                yield cast_batch(batch, declared, where)

    def close(self) -> None:
        """Dispose of the engine's connection pool."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    # -- connections -------------------------------------------------------------------------------------

    def _where(self, dataset: DatasetSpec | None = None) -> str:
        where = f"source '{self.source.name}'"
        return where if dataset is None else f"{where} dataset '{dataset.name}'"

    def _get_engine(self) -> sa.Engine:
        if self._engine is not None:
            return self._engine
        name, env = self.source.name, self._environ
        url = resolve_for(name, self.source.url, env)
        args: dict[str, Any] = {}
        for key, value in self.source.connect_args.items():
            text = resolve_for(name, value, env)
            args[key] = int(text) if text.isdigit() else text  # PyMySQL wants numbers, libpq takes either
        try:
            parsed = sa.make_url(url)
            if parsed.get_backend_name() in _TIMEOUT_DIALECTS:
                args.setdefault("connect_timeout", _DEFAULT_CONNECT_TIMEOUT_S)
            self._engine = sa.create_engine(parsed, connect_args=args)
        except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ImportError) as exc:
            raise SourceError(
                f"source '{self.source.name}': cannot use URL {mask_url(url)}: {exc}",
                "write a SQLAlchemy URL such as postgresql+psycopg://user:${env:PASSWORD}@host:5432/db",
            ) from None
        return self._engine

    def _connect(self, where: str) -> sa.Connection:
        engine = self._get_engine()
        try:
            return engine.connect()
        except (sa.exc.SQLAlchemyError, TypeError) as exc:  # TypeError: connect_args the driver does not take
            shown = engine.url.render_as_string(hide_password=True)
            raise SourceError(
                f"{where}: cannot connect to {mask_url(shown)}: {_reason(exc, engine)}",
                "check the host, port, credentials and that the server accepts connections from here",
            ) from None

    # -- tables ------------------------------------------------------------------------------------------

    def _table_name(self, dataset: DatasetSpec) -> tuple[str | None, str]:
        table = dataset.table or ""
        if self.source.schema_name is None and "." in table:
            schema, _, name = table.partition(".")
            return schema, name
        return self.source.schema_name, table

    def _reflect(self, conn: sa.Connection, dataset: DatasetSpec, where: str) -> sa.Table:
        schema, name = self._table_name(dataset)
        try:
            return sa.Table(name, sa.MetaData(), autoload_with=conn, schema=schema)
        except sa.exc.NoSuchTableError:
            pass
        except sa.exc.SQLAlchemyError as exc:
            raise SourceError(f"{where}: cannot read table '{name}': {_reason(exc, conn.engine)}") from None
        try:
            inspector = sa.inspect(conn)
            known = sorted(inspector.get_table_names(schema=schema) + inspector.get_view_names(schema=schema))
        except sa.exc.SQLAlchemyError:
            known = []  # e.g. the schema itself is missing
        listed = ", ".join(known[:10]) + (f" (and {len(known) - 10} more)" if len(known) > 10 else "")
        qualified = f"{schema}.{name}" if schema else name
        raise SourceError(
            f"{where}: table '{qualified}' not found; existing tables: {listed or 'none'}",
            "fix the dataset's table (or the source's schema)",
        )

    def _table_batches(self, dataset: DatasetSpec, since: Any, where: str) -> Iterator[pa.RecordBatch]:
        with self._connect(where) as conn:
            table = self._reflect(conn, dataset, where)
            schema = _table_schema(table)
            statement = sa.select(table)
            if dataset.incremental is not None:
                watermark = _column(table, dataset.incremental.watermark, where)
                if since is not None:
                    statement = statement.where(watermark >= _python_since(since, watermark.type, where))
                statement = statement.order_by(watermark)
            converters = [_converter(field.type) for field in schema]
            for rows in _stream(conn, statement, dataset, where):
                yield _typed_batch(rows, schema, converters, where)

    # -- queries -----------------------------------------------------------------------------------------

    def _query_statement(self, dataset: DatasetSpec, since: Any, limit: int | None) -> sa.Select[Any]:
        # The query has no bind parameters of ours, so a `:word` (in a string literal, say) stays text.
        text = _BIND_LIKE.sub(r"\\:", (dataset.query or "").strip().rstrip(";"))
        watermark = dataset.incremental.watermark if dataset.incremental else None
        columns: list[sa.ColumnClause[Any]] = (
            [sa.column(sa.sql.quoted_name(watermark, quote=True))] if watermark else []
        )
        subquery = sa.text(text).columns(*columns).subquery(_QUERY_ALIAS)
        statement: sa.Select[Any] = sa.select(sa.literal_column("*")).select_from(subquery)
        if watermark is not None:
            if since is not None:
                statement = statement.where(subquery.c[watermark] >= sa.bindparam("zt_since", _plain(since)))
            statement = statement.order_by(subquery.c[watermark])
        return statement if limit is None else statement.limit(limit)

    def _query_batches(
        self, dataset: DatasetSpec, since: Any, where: str, limit: int | None = None
    ) -> Iterator[pa.RecordBatch]:
        statement = self._query_statement(dataset, since, limit)
        with self._connect(where) as conn:
            names: list[str] = []
            empty = True
            for rows in _stream(conn, statement, dataset, where, names):
                empty = False
                yield _inferred_batch(rows, names, where)
            if empty:  # no rows: the column names still make a schema
                yield _inferred_batch([], names, where)


def _stream(
    conn: sa.Connection,
    statement: sa.Select[Any],
    dataset: DatasetSpec,
    where: str,
    names: list[str] | None = None,
) -> Iterator[Sequence[sa.Row[Any]]]:
    """Partitions of at most batch_rows rows from a server-side cursor; driver errors become SourceError."""
    try:
        result = conn.execution_options(stream_results=True, yield_per=dataset.batch_rows).execute(statement)
        keys = list(result.keys())
        duplicates = sorted({key for key in keys if keys.count(key) > 1})
        if duplicates:
            raise SourceError(
                f"{where}: the query returns column(s) {', '.join(duplicates)} more than once",
                "give each column a distinct alias",
            )
        if names is not None:
            names.extend(keys)
        try:
            yield from result.partitions(dataset.batch_rows)
        except (TypeError, ValueError) as exc:
            # A value its column's type cannot convert (SQLite keeps any value in any column, a number in a
            # DATE): named by kind, never quoted, since the value may be personal.
            raise SourceError(
                f"{where}: a row holds a value its column's declared type cannot read ({type(exc).__name__})",
                "find the value that does not fit its column's type in the source and fix it, or read the "
                "table through a `query` that CASTs the column",
            ) from None
    except sa.exc.SQLAlchemyError as exc:
        raise SourceError(f"{where}: query failed: {_reason(exc, conn.engine)}") from None


def _reason(exc: Exception, engine: sa.Engine) -> str:
    """The driver's first line, with the password blanked should the driver echo it."""
    cause = getattr(exc, "orig", None) or exc
    lines = str(cause).strip().splitlines() or [type(cause).__name__]
    reason = lines[0].strip()
    password = engine.url.password
    return reason.replace(str(password), "***") if password else reason


def _column(table: sa.Table, name: str, where: str) -> sa.Column[Any]:
    if name not in table.c:
        raise ZhongtaiError(
            "invalid_spec",
            f"{where}: watermark column '{name}' is not in table '{table.name}' "
            f"(columns: {', '.join(table.c.keys())})",
        )
    return table.c[name]


def _table_schema(table: sa.Table) -> pa.Schema:
    return pa.schema([pa.field(column.name, arrow_type_for(column.type)) for column in table.columns])


def _declared(schema: pa.Schema, dataset: DatasetSpec, where: str) -> pa.Schema:
    empty = pa.RecordBatch.from_pylist([], schema=schema)
    return cast_batch(empty, dataset.declared_types(), where).schema


def _python_since(since: Any, sql_type: sa.types.TypeEngine[Any], where: str) -> Any:
    """The watermark as the column's Python type, so every driver binds it (SQLite wants a real datetime)."""
    value = _plain(since)
    if not isinstance(value, str):
        return value
    parsers: list[tuple[type, Callable[[str], Any]]] = [
        (sa.DateTime, dt.datetime.fromisoformat),
        (sa.Date, dt.date.fromisoformat),
        (sa.Integer, int),
        (sa.Float, float),
        (sa.Numeric, decimal.Decimal),
    ]
    for kind, parse in parsers:
        if isinstance(sql_type, kind):
            try:
                return parse(value)
            except (ValueError, decimal.InvalidOperation):
                message = f"{where}: since value {value!r} is not a {kind.__name__}"
                raise ZhongtaiError("invalid_argument", message) from None
    return value


def _plain(value: Any) -> Any:
    return value.as_py() if isinstance(value, pa.Scalar) else value


def _converter(arrow: pa.DataType) -> Callable[[Any], Any] | None:
    """What driver values need before `pa.array` takes them as `arrow` (None: nothing)."""
    if pa.types.is_string(arrow):
        return _to_text
    if pa.types.is_floating(arrow):
        return float
    if pa.types.is_time(arrow):
        return _to_time
    if pa.types.is_binary(arrow):
        return bytes
    return None


def _to_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def _to_time(value: Any) -> Any:
    # PyMySQL returns TIME columns as timedelta since midnight.
    if isinstance(value, dt.timedelta) and dt.timedelta(0) <= value < dt.timedelta(days=1):
        return (dt.datetime.min + value).time()
    return value


def _typed_batch(
    rows: Sequence[sa.Row[Any]], schema: pa.Schema, converters: list[Callable[[Any], Any] | None], where: str
) -> pa.RecordBatch:
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in schema]
    arrays = []
    for field, values, convert in zip(schema, columns, converters, strict=True):
        try:
            arrays.append(_array(values, field.type, convert))
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError):
            # The driver's or pyarrow's text quotes the value, which may be personal data.
            raise ZhongtaiError(
                "schema_changed", f"{where}: column '{field.name}' holds a value that is not {field.type}"
            ) from None
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _array(values: Sequence[Any], arrow: pa.DataType, convert: Callable[[Any], Any] | None) -> pa.Array:
    """Values as an Arrow array; drivers mostly hand back the right Python type, so convert only on failure."""
    if convert is not None:
        try:
            return pa.array(values, type=arrow)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError):
            values = [None if v is None else convert(v) for v in values]
    return pa.array(values, type=arrow)


def _inferred_batch(rows: Sequence[sa.Row[Any]], names: list[str], where: str) -> pa.RecordBatch:
    """Arrow types from the values; decimals widen to 38 digits and time zones become UTC, batch after batch."""
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    arrays = []
    for name, raw in zip(names, columns, strict=True):
        values = [v if v is None or isinstance(v, _PLAIN_VALUES) else _to_text(v) for v in raw]
        try:
            array = pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            # Arrow's message quotes the offending value, which may be PII: name the types instead.
            kinds = ", ".join(sorted({type(v).__name__ for v in values if v is not None}))
            raise ZhongtaiError(
                "schema_changed",
                f"{where}: column '{name}' mixes value types ({kinds})",
                "CAST the column to one type in the query",
            ) from None
        if pa.types.is_decimal(array.type) and array.type.precision <= 38:
            array = array.cast(pa.decimal128(38, array.type.scale))
        elif pa.types.is_timestamp(array.type) and array.type.tz is not None:
            array = array.cast(pa.timestamp("us", tz="UTC"))
        arrays.append(array)
    return pa.RecordBatch.from_arrays(arrays, names=names)
