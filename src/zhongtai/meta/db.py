"""Engines for the metadata store and the Alembic migrations applied automatically on first use."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from zhongtai.config import mask_url
from zhongtai.errors import ZhongtaiError
from zhongtai.govern.private_files import ensure_private_database

MIGRATIONS = Path(__file__).parent / "migrations"
# Any constant works; it only has to be the same for every process migrating the same PostgreSQL database.
_PG_MIGRATION_LOCK = 0x7A68_6F6E


def create_engine(url: str) -> sa.Engine:
    """An engine for the metadata URL; SQLite gets foreign keys, WAL, its folder created and its file 0600."""
    parsed = sa.make_url(url)
    if parsed.drivername.startswith("sqlite"):
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            ensure_private_database(parsed.database)  # it holds decisions and their inputs
        engine = sa.create_engine(url, connect_args={"timeout": 30})

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

        return engine
    if parsed.drivername == "postgresql":
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return sa.create_engine(url, pool_pre_ping=True)


def alembic_config(engine: sa.Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def head_revision() -> str:
    script = ScriptDirectory.from_config(alembic_config(sa.create_engine("sqlite://")))
    head = script.get_current_head()
    return head or ""


def current_revision(engine: sa.Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def migrate(engine: sa.Engine) -> None:
    """Bring the schema to the newest revision; cheap when it already is (one SELECT)."""
    try:
        if current_revision(engine) == head_revision():
            return
        if engine.dialect.name == "postgresql":
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
                try:
                    command.upgrade(alembic_config(engine), "head")
                finally:
                    conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_MIGRATION_LOCK})
                    conn.commit()
        else:
            command.upgrade(alembic_config(engine), "head")
    except sa.exc.OperationalError as exc:
        raise ZhongtaiError(
            "source_error",
            f"metadata store {mask_url(engine.url.render_as_string(hide_password=False))} is not reachable: "
            f"{str(exc.orig).strip().splitlines()[0]}",
            "check ZT_METADATA_URL (zhongtai info shows it)",
        ) from None
