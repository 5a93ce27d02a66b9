"""The migrated schema must equal the tables the code declares, on every supported database."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from zhongtai.meta import db
from zhongtai.meta.store import MetadataStore
from zhongtai.meta.tables import Base

pytestmark = pytest.mark.integration


def test_first_use_migrates_to_head(metadata_url):
    store = MetadataStore(metadata_url)
    try:
        assert db.current_revision(store.engine) == db.head_revision()
        tables = set(sa.inspect(store.engine).get_table_names())
        assert {
            "sources",
            "datasets",
            "dataset_versions",
            "fields",
            "entities",
            "ingest_runs",
            "changes",
        } <= tables
    finally:
        store.close()


def test_migrations_match_declared_tables(metadata_url):
    store = MetadataStore(metadata_url)
    try:
        with store.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diff == []
    finally:
        store.close()


def test_reopening_does_not_migrate_again(metadata_url):
    MetadataStore(metadata_url).close()
    store = MetadataStore(metadata_url)
    try:
        with store.engine.connect() as conn:
            versions = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all()
        assert versions == [db.head_revision()]
    finally:
        store.close()


def test_unreachable_server_is_a_clear_error():
    with pytest.raises(
        Exception, match=r"metadata store postgresql\+psycopg://nobody:\*\*\*@127.0.0.1:1/x is not reachable"
    ):
        MetadataStore("postgresql://nobody:secret@127.0.0.1:1/x")
