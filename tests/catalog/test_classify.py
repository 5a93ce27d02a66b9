"""After an ingest, undeclared text fields get the PII class their values show; declared classes win."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from zhongtai.catalog.classify import classify_fields
from zhongtai.lake.ingest import ingest
from zhongtai.lake.storage import LakeStorage
from zhongtai.meta.store import MetadataStore
from zhongtai.spec.plan import apply_plan, build_plan
from zhongtai.spec.project import load_project

pytestmark = pytest.mark.integration

SPECS = """\
sources: [{{name: crm, type: sql, url: "sqlite:///{db}"}}]
datasets:
  - name: contacts
    source: crm
    table: contacts
    fields: [{{name: note, pii: none}}]
"""


def test_detected_and_declared_pii(tmp_path, metadata_url):
    db = tmp_path / "crm.db"
    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        conn.execute(
            sa.text("CREATE TABLE contacts (id INTEGER, mobile TEXT, mail TEXT, note TEXT, sku TEXT)")
        )
        conn.execute(
            sa.text("INSERT INTO contacts VALUES (:i, :m, :e, :n, :s)"),
            [
                {
                    "i": i,
                    "m": f"+86 139 {i:04d} {i:04d}",
                    "e": f"user{i}@example.com",
                    "n": f"138{i:08d}",
                    "s": f"SKU-{i:06d}",
                }
                for i in range(200)
            ],
        )
    engine.dispose()
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "s.yaml").write_text(SPECS.format(db=db))
    store = MetadataStore(metadata_url)
    apply_plan(build_plan(load_project(tmp_path / "p"), store), store)
    lake = LakeStorage(str(tmp_path / "lake"))
    ingest(store, lake, "contacts")
    guesses = classify_fields(store, lake, "contacts")
    assert set(guesses) == {"mobile", "mail", "sku"}  # `note` is declared, so not sampled
    classes = {f.name: f.pii for f in store.fields("contacts")}
    assert classes == {"id": None, "mobile": "phone", "mail": "email", "note": "none", "sku": None}
    store.close()
