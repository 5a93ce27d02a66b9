"""The retail scenario's ticket text quotes customers' phones (用手机号...注册的): the project declares `redact`
for it, so no lake file holds them and a preview passes the reviewers' grep, while the phone in the text
carries the same token as the ticket's contact phone."""

from __future__ import annotations

import json
import re

import pyarrow.parquet as pq
import pytest

from zhongtai.catalog.classify import classify_fields
from zhongtai.catalog.entries import dataset_entry
from zhongtai.govern.keys import load_keys
from zhongtai.govern.tokens import tokenize
from zhongtai.lake.ingest import ingest
from zhongtai.lake.reader import read_table
from zhongtai.lake.storage import LakeStorage
from zhongtai.meta.store import MetadataStore
from zhongtai.scenarios.retail.generate import generate
from zhongtai.spec.plan import apply_plan, build_plan
from zhongtai.spec.project import load_project

pytestmark = pytest.mark.e2e

MOBILE_GREP = re.compile(r"(^|[^0-9])1[3-9][0-9]{9}([^0-9]|$)")


def test_ticket_text_reaches_the_lake_with_phones_as_tokens(tmp_path, pg_url, mariadb_url) -> None:
    report = generate(tmp_path / "retail", 600, seed=11, crm_url=pg_url, erp_url=mariadb_url)
    tickets = [
        json.loads(line)
        for path in (tmp_path / "retail").rglob("tickets.jsonl")
        for line in path.read_text(encoding="utf-8").splitlines()
    ]
    quoted = {t["ticket_id"]: m.group(0) for t in tickets if (m := re.search(r"1[3-9][0-9]{9}", t["text"]))}
    assert len(quoted) >= 5  # the generator does quote phones in the text
    store = MetadataStore(f"sqlite:///{tmp_path / 'metadata.db'}")
    try:
        lake = LakeStorage(str(tmp_path / "lake"))
        apply_plan(build_plan(load_project(report.project_dir), store), store)
        ingest(store, lake, "service_tickets")
        rows = {r["ticket_id"]: r for r in read_table(store, lake, "service_tickets").to_pylist()}
        assert not MOBILE_GREP.search(json.dumps(list(rows.values()), ensure_ascii=False, default=str))
        keys = load_keys(tmp_path)
        for ticket_id, phone in quoted.items():
            assert f"[{tokenize(phone, 'phone', keys)}]" in rows[ticket_id]["text"]
        phones = set(quoted.values())
        for path in lake.fs.find(lake.path()):
            data = lake.fs.cat_file(path)
            assert not [p for p in phones if p.encode() in data], path
            if path.endswith(".parquet"):
                values = [str(v) for col in pq.read_table(path).columns for v in col.to_pylist()]
                assert not [v for v in values if MOBILE_GREP.search(v)], path
        classify_fields(store, lake, "service_tickets")
        fields = {f["name"]: f for f in dataset_entry(store, "service_tickets").fields}
        assert fields["text"]["storage"] == "redacted(email,id_card,bank_card,phone,landline)"
        assert fields["text"]["pii"].startswith("text:") and "phone" in fields["text"]["pii"]
    finally:
        store.close()
