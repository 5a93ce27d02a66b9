from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from zhongtai.lake.storage import LakeStorage
from zhongtai.meta.store import MetadataStore
from zhongtai.spec.plan import apply_plan, build_plan
from zhongtai.spec.project import load_project


@dataclass
class LakeBench:
    """A source database, a project pointing at it, and a store + lake to ingest into."""

    source_db: sa.Engine
    project: Path
    store: MetadataStore
    lake: LakeStorage

    def apply(self, specs: str) -> None:
        (self.project / "specs.yaml").write_text(specs.replace("SOURCE_URL", str(self.source_db.url)))
        apply_plan(build_plan(load_project(self.project), self.store), self.store)

    def sql(self, statement: str, rows: list[dict] | None = None) -> None:
        with self.source_db.begin() as conn:
            conn.execute(sa.text(statement), rows or [{}])


@pytest.fixture
def lake_bench(tmp_path, metadata_url) -> LakeBench:
    source_db = sa.create_engine(f"sqlite:///{tmp_path / 'source.db'}")
    project = tmp_path / "project"
    project.mkdir()
    store = MetadataStore(metadata_url)
    bench = LakeBench(source_db, project, store, LakeStorage(str(tmp_path / "lake")))
    yield bench
    store.close()
    source_db.dispose()
