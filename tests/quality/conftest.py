from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.lake.conftest import LakeBench
from zhongtai.lake.storage import LakeStorage
from zhongtai.meta.store import MetadataStore


def _bench(tmp_path, metadata_url: str) -> LakeBench:
    source_db = sa.create_engine(f"sqlite:///{tmp_path / 'source.db'}")
    project = tmp_path / "project"
    project.mkdir()
    return LakeBench(source_db, project, MetadataStore(metadata_url), LakeStorage(str(tmp_path / "lake")))


@pytest.fixture
def bench(tmp_path):
    """A SQLite source, a project folder, an embedded metadata store and a local lake."""
    found = _bench(tmp_path, f"sqlite:///{tmp_path / 'metadata.db'}")
    yield found
    found.store.close()
    found.source_db.dispose()


@pytest.fixture
def bench_any_store(tmp_path, metadata_url):
    """The same, once per metadata backend (SQLite and PostgreSQL)."""
    found = _bench(tmp_path, metadata_url)
    yield found
    found.store.close()
    found.source_db.dispose()
