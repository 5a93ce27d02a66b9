"""After an ingest, undeclared text fields get the PII class their values show; declared classes win."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from zhongtai.catalog.classify import classify_fields, undeclared_pii
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


def test_free_text_holding_pii_is_recorded_with_its_kinds_and_no_value(tmp_path, metadata_url):
    db = tmp_path / "crm.db"
    engine = sa.create_engine(f"sqlite:///{db}")
    texts = [
        "用手机号13812345678注册的，订单SO20240101000123",
        "座机 010-12345678，邮箱 li.min@qq.com",
        "身份证11010519491231002X，退款到卡 6222 0212 3456 7890 128",
        "退款320元，等了5天",
    ]
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE contacts (id INTEGER, body TEXT, sku TEXT)"))
        conn.execute(
            sa.text("INSERT INTO contacts VALUES (:i, :b, :s)"),
            [{"i": i, "b": texts[i % 4], "s": f"SKU-{i:06d}"} for i in range(40)],
        )
    engine.dispose()
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "s.yaml").write_text(SPECS.format(db=db))
    store = MetadataStore(metadata_url)
    apply_plan(build_plan(load_project(tmp_path / "p"), store), store)
    lake = LakeStorage(str(tmp_path / "lake"))
    ingest(store, lake, "contacts")
    guesses = classify_fields(store, lake, "contacts")
    assert guesses["body"].pii_class is None
    assert guesses["body"].in_text == ("email", "id_card", "bank_card", "phone", "landline")
    classes = {f.name: f.pii for f in store.fields("contacts")}
    # Longer than the 32 characters the column once had: PostgreSQL enforces the width.
    assert classes["body"] == "text:email,id_card,bank_card,phone,landline" and classes["sku"] is None
    (warning,) = undeclared_pii(guesses)
    assert warning.startswith("field 'body' holds email, id_card, bank_card, phone, landline in its text")
    assert "declare `redact: [email, id_card, bank_card, phone, landline]`" in warning
    assert "13812345678" not in warning and "li.min" not in warning
    store.close()
