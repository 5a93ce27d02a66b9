"""Writing the CRM and ERP tables into their SQL homes: a SQLite file by default, PostgreSQL or MariaDB by URL.

Tables are (re)created from the shared SQLAlchemy metadata, then filled through each driver's fast path:
COPY for PostgreSQL, multi-row INSERTs for MariaDB (the VALUES text built column-wise by Arrow: PyMySQL's
per-value escaping would take longer than the server), executemany in one transaction for SQLite.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import sqlalchemy as sa

from zhongtai.config import mask_url
from zhongtai.errors import SourceError, ZhongtaiError

BATCH_ROWS = 50_000
STATEMENT_ROWS = 4_000  # rows per multi-row INSERT: about 1 MB of SQL, well under max_allowed_packet
DRIVERS = {
    "postgresql": "postgresql+psycopg",
    "postgres": "postgresql+psycopg",
    "mysql": "mysql+pymysql",
    "mariadb": "mariadb+pymysql",
}
SUPPORTED = ("sqlite", "postgresql", "mysql", "mariadb")


def sqlite_url(path: Path) -> str:
    """The SQLAlchemy URL of a SQLite file, absolute so the project folder can live anywhere."""
    return f"sqlite:///{path.resolve()}"


def driver_url(url: str) -> str:
    """The URL with the driver this package ships with (psycopg, PyMySQL) when none is named."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ZhongtaiError(
            "invalid_argument",
            f"{mask_url(url)}: not a database URL",
            "give a URL such as postgresql://user@host:5432/crm",
        )
    base = scheme.split("+", 1)[0]
    if base not in SUPPORTED and base != "postgres":
        raise ZhongtaiError(
            "invalid_argument",
            f"{mask_url(url)}: unsupported database '{base}'",
            "use postgresql://, mysql:// or mariadb://, or leave the URL out for SQLite",
        )
    if "+" not in scheme and base in DRIVERS:
        return f"{DRIVERS[base]}://{rest}"
    return url


def has_password(url: str) -> bool:
    """True when the URL carries a password (which the project must not hold)."""
    return urlsplit(url).password is not None


def spec_url(url: str, password_variable: str) -> str:
    """The URL as written in the project: with the driver, and a literal password replaced by an env reference."""
    if not has_password(url):
        return driver_url(url)
    parts = urlsplit(driver_url(url))
    host = parts.netloc.rsplit("@", 1)[1]
    netloc = f"{parts.username}:${{env:{password_variable}}}@{host}"
    return urlunsplit(parts._replace(netloc=netloc))


def _engine(url: str) -> sa.Engine:
    real = driver_url(url)
    if real.startswith(("mysql", "mariadb")) and "charset=" not in real:
        real += ("&" if "?" in real else "?") + "charset=utf8mb4"
    return sa.create_engine(real)


def check_database(url: str) -> None:
    """Connect once, so a wrong URL fails before minutes of generation rather than after."""
    engine = _engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise SourceError(
            f"cannot reach {mask_url(url)}: {reason}",
            "check that the server runs, the database exists and the user may connect",
        ) from exc
    finally:
        engine.dispose()


def write_database(url: str, metadata: sa.MetaData, tables: dict[str, pa.Table]) -> None:
    """Drop and recreate the scenario's tables in the database at `url` and fill them."""
    engine = _engine(url)
    try:
        with engine.begin() as conn:
            chosen = [metadata.tables[name] for name in tables]
            metadata.drop_all(conn, tables=chosen)
            metadata.create_all(conn, tables=chosen)
            load = LOADERS[conn.dialect.name]
            for name, table in tables.items():
                _check_columns(metadata.tables[name], table)
                load(conn, metadata.tables[name], table)
    finally:
        engine.dispose()


def _check_columns(target: sa.Table, table: pa.Table) -> None:
    expected = [c.name for c in target.columns]
    if table.column_names != expected:
        raise ValueError(f"{target.name}: columns {table.column_names} do not match the schema {expected}")


def _driver(conn: sa.Connection) -> Any:
    """The DB-API connection under SQLAlchemy's, for the drivers' bulk-load calls."""
    raw = conn.connection.driver_connection
    if raw is None:
        raise RuntimeError("the SQLAlchemy connection has no driver connection")
    return raw


def _copy_postgres(conn: sa.Connection, target: sa.Table, table: pa.Table) -> None:
    raw = _driver(conn)
    columns = ", ".join(f'"{name}"' for name in table.column_names)
    options = pacsv.WriteOptions(include_header=False)
    with (
        raw.cursor() as cursor,
        cursor.copy(f'COPY "{target.name}" ({columns}) FROM STDIN (FORMAT csv)') as copy,
    ):
        for batch in table.to_batches(max_chunksize=BATCH_ROWS):
            buffer = io.BytesIO()
            pacsv.write_csv(batch, buffer, options)
            copy.write(buffer.getvalue())


def _insert_rows(conn: sa.Connection, target: sa.Table, table: pa.Table) -> None:
    quote = conn.dialect.identifier_preparer.quote
    prefix = f"INSERT INTO {quote(target.name)} ({', '.join(quote(n) for n in table.column_names)}) VALUES "
    backslash = "NO_BACKSLASH_ESCAPES" not in conn.exec_driver_sql("SELECT @@SESSION.sql_mode").scalar_one()
    cursor = _driver(conn).cursor()
    try:
        for batch in table.to_batches(max_chunksize=STATEMENT_ROWS):
            values = [_literal(column, backslash) for column in batch.columns]
            rows = pc.binary_join_element_wise("(", pc.binary_join_element_wise(*values, ","), ")", "")
            cursor.execute(prefix + ",".join(rows.to_pylist()))
    finally:
        cursor.close()


def _literal(column: pa.Array, backslash: bool) -> pa.Array:
    """SQL literals of a column: quoted and escaped text, plain numbers, NULL."""
    kind = column.type
    if pa.types.is_boolean(kind):
        return pc.fill_null(pc.if_else(column, "1", "0"), "NULL")
    if pa.types.is_integer(kind) or pa.types.is_decimal(kind):
        return pc.fill_null(column.cast(pa.string()), "NULL")
    if pa.types.is_timestamp(kind):
        column = column.cast(pa.timestamp("us"))
    text = column.cast(pa.string())
    if backslash:
        text = pc.replace_substring(text, "\\", "\\\\")
    text = pc.replace_substring(text, "'", "''")
    return pc.fill_null(pc.binary_join_element_wise("'", text, "'", ""), "NULL")


def _insert_many(conn: sa.Connection, target: sa.Table, table: pa.Table) -> None:
    quote = conn.dialect.identifier_preparer.quote
    statement = (
        f"INSERT INTO {quote(target.name)} ({', '.join(quote(n) for n in table.column_names)}) "
        f"VALUES ({', '.join(['?'] * table.num_columns)})"
    )
    cursor = _driver(conn).cursor()
    try:
        for rows in _python_rows(table):
            cursor.executemany(statement, rows)
    finally:
        cursor.close()


def _python_rows(table: pa.Table) -> Iterator[list[tuple]]:
    """Batches of plain tuples: timestamps, dates and decimals as the text every driver and SQLAlchemy read back."""
    for batch in table.to_batches(max_chunksize=BATCH_ROWS):
        columns = []
        for column in batch.columns:
            if pa.types.is_timestamp(column.type):
                # SQLAlchemy's own text form (microseconds included), so bound watermarks compare as text.
                column = column.cast(pa.timestamp("us")).cast(pa.string())
            elif pa.types.is_date(column.type) or pa.types.is_decimal(column.type):
                column = column.cast(pa.string())
            columns.append(column.to_pylist())
        yield list(zip(*columns, strict=True))


LOADERS: dict[str, Callable[[sa.Connection, sa.Table, pa.Table], None]] = {
    "postgresql": _copy_postgres,
    "mysql": _insert_rows,
    "mariadb": _insert_rows,
    "sqlite": _insert_many,
}
