"""The lake on a non-local fsspec filesystem (fsspec's in-memory store stands in for s3://)."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from zhongtai.lake.ingest import ingest
from zhongtai.lake.reader import read_table
from zhongtai.lake.storage import LakeStorage
from zhongtai.meta.store import MetadataStore
from zhongtai.spec.plan import apply_plan, build_plan
from zhongtai.spec.project import load_project

pytestmark = pytest.mark.integration


def test_ingest_into_an_fsspec_lake(tmp_path):
    db = tmp_path / "s.db"
    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT, ts INTEGER)"))
        conn.execute(sa.text("INSERT INTO t VALUES (:i, :v, :i)"), [{"i": i, "v": str(i)} for i in range(20)])
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "s.yaml").write_text(
        f"sources: [{{name: s, type: sql, url: 'sqlite:///{db}'}}]\n"
        "datasets: [{name: t, source: s, table: t, primary_key: [id], incremental: {watermark: ts}}]\n"
    )
    store = MetadataStore(f"sqlite:///{tmp_path / 'm.db'}")
    apply_plan(build_plan(load_project(tmp_path / "p"), store), store)
    lake = LakeStorage(f"memory://zt-{uuid.uuid4().hex}")
    assert ingest(store, lake, "t").rows == 20
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE t SET v = 'changed', ts = 100 WHERE id = 3"))
    second = ingest(store, lake, "t")
    assert (second.version, second.rows_updated, second.rows) == (2, 1, 20)
    rows = {r["id"]: r["v"] for r in read_table(store, lake, "t").to_pylist()}
    assert rows[3] == "changed" and len(rows) == 20
    assert all(f.startswith(lake.root) for f in store.current_version("t").files)
    assert lake.listdir(lake.path("_staging")) == []
    store.close()
    lake.remove(lake.root)
