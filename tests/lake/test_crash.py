"""SIGKILL an ingest midway: the lake keeps showing the previous version and no partial files."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from zhongtai.lake.storage import LakeStorage
from zhongtai.meta.store import MetadataStore

pytestmark = pytest.mark.e2e

SPECS = """\
sources:
  - {{name: shop, type: sql, url: "sqlite:///{db}"}}
datasets:
  - name: customers
    source: shop
    table: customers
    primary_key: [id]
    incremental: {{watermark: id}}
    batch_rows: 500
"""


def _zhongtai(env: dict[str, str], *args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "zhongtai", *args], env=env, **kwargs)


def test_sigkill_mid_ingest_leaves_previous_version(tmp_path):
    db = tmp_path / "source.db"
    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT, note TEXT)"))
        conn.execute(
            sa.text("INSERT INTO customers VALUES (:i, :n, :t)"),
            [{"i": i, "n": f"name {i}", "t": "x" * 50} for i in range(100)],
        )
    project = tmp_path / "project"
    project.mkdir()
    (project / "specs.yaml").write_text(SPECS.format(db=db))
    env = {**os.environ, "ZT_HOME": str(tmp_path / "home")}
    assert _zhongtai(env, "apply", str(project)).wait(60) == 0
    assert _zhongtai(env, "ingest", "customers").wait(60) == 0

    with engine.begin() as conn:  # enough new rows that the next ingest takes a while
        conn.execute(
            sa.text("INSERT INTO customers VALUES (:i, :n, :t)"),
            [{"i": i, "n": f"name {i}", "t": "y" * 50} for i in range(100, 400_100)],
        )
    lake = Path(tmp_path / "home" / "lake")
    committed = sorted(p.relative_to(lake) for p in (lake / "customers").rglob("*.parquet"))
    proc = _zhongtai(env, "ingest", "customers", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not list((lake / "_staging").rglob("*.parquet")):
        assert proc.poll() is None, "the ingest finished before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)

    store = MetadataStore(f"sqlite:///{tmp_path / 'home' / 'metadata.db'}")
    assert store.current_version("customers").version == 1
    assert store.current_version("customers").rows == 100
    assert sorted(p.relative_to(lake) for p in (lake / "customers").rglob("*.parquet")) == committed
    assert store.runs("customers")[0].status == "running"  # the dead run, until someone notices

    assert _zhongtai(env, "ingest", "customers").wait(120) == 0
    runs = store.runs("customers")
    assert [r.status for r in runs[:2]] == ["succeeded", "failed"]
    assert runs[1].message == "interrupted: the process died before committing"
    assert store.current_version("customers").rows == 400_100
    assert LakeStorage(str(lake)).listdir(str(lake / "_staging")) == []
    store.close()
