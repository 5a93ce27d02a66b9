"""PII inside free text: `redact:` stores ticket text with phones and ID numbers replaced by the very tokens
the PII columns hold, in every lake file; order numbers and amounts stay; the catalog says what is inside."""

from __future__ import annotations

import json
import re

import pyarrow.parquet as pq
import pytest

from zhongtai.catalog.classify import classify_fields, undeclared_pii
from zhongtai.catalog.entries import dataset_entry
from zhongtai.errors import ZhongtaiError
from zhongtai.govern.keys import load_keys
from zhongtai.govern.protection import storage_notes
from zhongtai.govern.tokens import tokenize
from zhongtai.lake.ingest import ingest
from zhongtai.lake.reader import read_table
from zhongtai.spec.project import load_project

pytestmark = pytest.mark.integration

SPECS = """\
sources:
  - {name: desk, type: sql, url: "SOURCE_URL"}
datasets:
  - name: tickets
    source: desk
    table: tickets
    primary_key: [ticket_id]
    fields:
      - {name: contact_phone, pii: phone}
      - {name: text, redact: [phone, id_card]}
"""
PHONE, ID_NUMBER = "13912345678", "11010519491231002X"
MOBILE_GREP = re.compile(r"(^|[^0-9])1[3-9][0-9]{9}([^0-9]|$)")


@pytest.fixture
def desk(lake_bench):
    lake_bench.sql("CREATE TABLE tickets (ticket_id TEXT PRIMARY KEY, contact_phone TEXT, text TEXT)")
    rows = [
        {"t": "T1", "p": PHONE, "x": f"用手机号{PHONE}注册的，订单SO20240101000123还没到"},
        {"t": "T2", "p": None, "x": "my number is +86 139-1234-5678, refund 138.50 please"},
        {"t": "T3", "p": "13800000002", "x": f"身份证{ID_NUMBER}，邮箱 li.min@qq.com"},
        {"t": "T4", "p": None, "x": None},
    ]
    rows += [
        {"t": f"N{k}", "p": f"1370000{k:04d}", "x": f"退款{k}元，单号20240115{k:06d}"} for k in range(40)
    ]
    lake_bench.sql("INSERT INTO tickets VALUES (:t, :p, :x)", rows)
    lake_bench.apply(SPECS)
    return lake_bench


def test_redacted_text_holds_the_column_tokens_and_no_clear_value_anywhere(desk) -> None:
    ingest(desk.store, desk.lake, "tickets")
    keys = load_keys(desk.project)
    token = tokenize(PHONE, "phone", keys)
    rows = {r["ticket_id"]: r for r in read_table(desk.store, desk.lake, "tickets").to_pylist()}
    assert rows["T1"]["contact_phone"] == token
    assert rows["T1"]["text"] == f"用手机号[{token}]注册的，订单SO20240101000123还没到"
    assert rows["T2"]["text"] == f"my number is [{token}], refund 138.50 please"  # +86 and dashes: one token
    assert rows["T3"]["text"] == f"身份证[{tokenize(ID_NUMBER, 'id_card', keys)}]，邮箱 li.min@qq.com"
    assert rows["T4"]["text"] is None and rows["N7"]["text"] == "退款7元，单号20240115000007"
    # What preview prints passes the reviewers' grep.
    assert not MOBILE_GREP.search(json.dumps(list(rows.values()), ensure_ascii=False))
    for path in desk.lake.fs.find(desk.lake.path()):
        data = desk.lake.fs.cat_file(path)
        for secret in (PHONE, "139-1234-5678", ID_NUMBER):
            assert secret.encode() not in data, f"{secret} in {path}"
        if path.endswith(".parquet"):
            values = [str(v) for col in pq.read_table(path).columns for v in col.to_pylist()]
            assert not [v for v in values if PHONE in v or ID_NUMBER in v or MOBILE_GREP.search(v)]
    storage = {f["name"]: f["storage"] for f in dataset_entry(desk.store, "tickets").fields}
    assert storage["text"] == "redacted(id_card,phone)" and storage["contact_phone"] == "token"
    assert ingest(desk.store, desk.lake, "tickets").created is False  # tokens are stable: nothing changed


def test_catalog_says_which_kinds_the_text_holds(desk) -> None:
    ingest(desk.store, desk.lake, "tickets")
    guesses = classify_fields(desk.store, desk.lake, "tickets")
    assert guesses["text"].in_text == ("email",)  # the only kind left in clear
    pii = {f["name"]: f["pii"] for f in dataset_entry(desk.store, "tickets").fields}
    assert pii["text"] == "text:email,id_card,phone"


def test_changing_the_redacted_kinds_is_a_storage_change(desk) -> None:
    ingest(desk.store, desk.lake, "tickets")
    desk.apply(SPECS.replace("redact: [phone, id_card]", "redact: [phone, id_card, email]"))
    with pytest.raises(
        ZhongtaiError,
        match=r"column 'text' changed storage from redacted\(id_card,phone\) \(key \w+\) to "
        r"redacted\(email,id_card,phone\)",
    ):
        ingest(desk.store, desk.lake, "tickets")
    ingest(desk.store, desk.lake, "tickets", accept_schema_change=True)
    text = {r["ticket_id"]: r["text"] for r in read_table(desk.store, desk.lake, "tickets").to_pylist()}
    assert "li.min@qq.com" not in text["T3"] and "[email:" in text["T3"]


@pytest.mark.parametrize(
    ("field", "message"),
    [
        (
            "{name: text, redact: [phone, ssn]}",
            r"specs\.yaml:10 datasets\.tickets\.fields\.text\.redact\.1: Input should be 'phone', "
            "'landline', 'id_card', 'bank_card', 'email', 'uscc', 'iban', 'intl_phone' or 'passport'",
        ),
        (
            "{name: text, pii: phone, redact: [phone]}",
            r"specs\.yaml:10 .*redact applies to free-text fields, and this one is declared pii: phone",
        ),
        (
            "{name: text, type: int64, redact: [phone]}",
            r"specs\.yaml:10 .*redact applies to text fields, and this one is declared type: int64",
        ),
    ],
)
def test_bad_redact_declarations_name_the_file_and_line(desk, field: str, message: str) -> None:
    (desk.project / "specs.yaml").write_text(
        SPECS.replace("{name: text, redact: [phone, id_card]}", field).replace("SOURCE_URL", "sqlite://")
    )
    with pytest.raises(ZhongtaiError, match=message):
        load_project(desk.project)


def test_plan_and_ingest_advise_redact_for_text_holding_pii_in_clear(desk) -> None:
    desk.apply(SPECS.replace("      - {name: text, redact: [phone, id_card]}\n", ""))
    ingest(desk.store, desk.lake, "tickets")
    (warning,) = undeclared_pii(classify_fields(desk.store, desk.lake, "tickets"))
    assert warning.startswith("field 'text' holds email, id_card, phone in its text, stored in clear")
    spec = load_project(desk.project).objects("datasets")["tickets"]
    (note,) = storage_notes(desk.store, {"tickets": spec})
    assert note == (
        "dataset tickets: field text holds email, id_card, phone in its text, stored in clear: declare "
        "`redact: [email, id_card, phone]` to store those spans as tokens"
    )
    assert PHONE not in warning + note and ID_NUMBER not in warning + note


def test_a_failed_check_on_redacted_text_quotes_no_value(desk) -> None:
    desk.apply(
        SPECS.replace(
            "{name: text, redact: [phone, id_card]}",
            '{name: text, redact: [phone, id_card], checks: [{regex: "^[^+]*$", on_fail: warn}]}',
        )
    )
    ingest(desk.store, desk.lake, "tickets")
    report = str(desk.store.quality.for_version("tickets", 1).results)
    assert "text.regex" in report and "<text>" in report
    assert "139-1234-5678" not in report and "refund 138.50" not in report
