from __future__ import annotations

import datetime as dt

import pytest

from zhongtai.lake.ingest import ingest
from zhongtai.lake.reader import read_table
from zhongtai.quality.report import build_report, quarantined_rows

pytestmark = pytest.mark.integration

SPECS = """\
sources:
  - {name: crm, type: sql, url: "SOURCE_URL"}
datasets:
  - name: customers
    source: crm
    table: customers
    primary_key: [id]
    fields:
      - name: phone
        clean: [phone]
        checks: [{regex: "^1[3-9][0-9]{9}$"}]
      - name: email
        clean: [email]
      - name: age
        checks: [{range: {min: 0, max: 120}}]
      - name: status
        clean: [trim, lower]
        checks: [not_null, {accepted_values: [active, dormant]}]
      - name: signup
        clean: [date]
"""


def _ts(day: int) -> dt.datetime:
    return dt.datetime(2026, 1, day, 12, 0, 0)


CUSTOMERS = [
    (1, "+86 138-0013-8000", " Li@Example.COM ", 30, " Active", "2024-01-05"),
    (2, "１３９００００００００", "wang@example.com", 41, "dormant", "2024/02/06"),
    (3, "12345", "zhao@example.com", 25, "active", "2024年3月7日"),  # bad phone
    (4, "13700000000", "qian@example.com", 150, "active", "2024-04-08"),  # bad age
    (5, "13600000000", "sun@example.com", 33, None, "not a date"),  # null status, bad date
    (6, "008613500000000", "zhou@example.com", 52, "vip", ""),  # status not accepted
]


@pytest.fixture
def crm(bench):
    bench.sql(
        "CREATE TABLE customers (id INTEGER PRIMARY KEY, phone TEXT, email TEXT, age INTEGER, status TEXT, "
        "signup TEXT)"
    )
    bench.sql(
        "INSERT INTO customers VALUES (:id, :phone, :email, :age, :status, :signup)",
        [
            dict(zip(("id", "phone", "email", "age", "status", "signup"), row, strict=True))
            for row in CUSTOMERS
        ],
    )
    bench.apply(SPECS)
    return bench


def test_bad_rows_are_quarantined_with_reasons_and_good_rows_make_the_version(crm):
    result = ingest(crm.store, crm.lake, "customers")
    assert (result.version, result.rows_read, result.rows, result.rows_quarantined) == (1, 6, 2, 4)
    kept = {r["id"]: r for r in read_table(crm.store, crm.lake, "customers").to_pylist()}
    assert sorted(kept) == [1, 2]
    assert kept[1]["phone"] == "13800138000"
    assert kept[2]["phone"] == "13900000000"
    assert kept[1]["email"] == "li@example.com"
    assert kept[1]["status"] == "active"
    assert kept[1]["signup"] == dt.date(2024, 1, 5)
    assert kept[2]["signup"] == dt.date(2024, 2, 6)

    run = crm.store.quality.for_version("customers", 1)
    assert run.rows_in == run.rows_kept + run.rows_quarantined + run.rows_deduped
    quarantined = {r["id"]: r for r in quarantined_rows(crm.lake, run.quarantine_files, 100)}
    assert sorted(quarantined) == [3, 4, 5, 6]
    assert quarantined[3]["_zt_rule"] == "phone.regex"
    assert quarantined[3]["_zt_reason"] == "phone '12345' does not match ^1[3-9][0-9]{9}$"
    assert quarantined[4]["_zt_reason"] == "age '150' is not at least 0 and at most 120"
    assert quarantined[5]["_zt_rule"] == "signup.date, status.not_null"
    assert (
        quarantined[5]["_zt_reason"] == "signup 'not a date' is not a date in a known format; status is null"
    )
    assert quarantined[6]["_zt_reason"] == "status 'vip' is not one of active, dormant"
    # the quarantine keeps the row as the source sent it
    assert quarantined[6]["phone"] == "008613500000000"
    assert all(f.startswith(str(crm.lake.path("_quarantine", "customers"))) for f in run.quarantine_files)

    counts = {r["rule"]: (r["checked"], r["failed"], r["status"]) for r in run.results}
    assert counts["phone.regex"] == (6, 1, "quarantined")
    assert counts["status.accepted_values"] == (6, 1, "quarantined")
    assert counts["signup.date"] == (6, 1, "quarantined")


def test_report_shows_rules_and_samples(crm):
    ingest(crm.store, crm.lake, "customers")
    report = build_report(crm.store, crm.lake, "customers", samples=2).to_dict()
    assert (report["version"], report["status"], report["rows_quarantined"]) == (1, "passed", 4)
    assert len(report["samples"]) == 2
    assert {"_zt_rule", "_zt_reason"} <= set(report["samples"][0])


def test_declared_type_of_a_cleaned_field_applies_after_cleaning_and_misfits_are_quarantined(bench):
    bench.sql("CREATE TABLE visits (id INTEGER, n TEXT)")
    bench.sql("INSERT INTO visits VALUES (:i, :n)", [{"i": 1, "n": " １２ "}, {"i": 2, "n": "many"}])
    bench.apply(
        'sources: [{name: crm, type: sql, url: "SOURCE_URL"}]\n'
        "datasets:\n"
        "  - {name: visits, source: crm, table: visits, fields: [{name: n, type: int64, clean: [halfwidth, trim]}]}\n"
    )
    result = ingest(bench.store, bench.lake, "visits")
    assert (result.rows, result.rows_quarantined) == (1, 1)
    assert read_table(bench.store, bench.lake, "visits").to_pylist() == [{"id": 1, "n": 12}]
    assert [(c.name, c.type) for c in bench.store.current_version("visits").schema] == [
        ("id", "int64"),
        ("n", "int64"),
    ]
    run = bench.store.quality.for_version("visits", 1)
    (row,) = quarantined_rows(bench.lake, run.quarantine_files, 5)
    assert (row["_zt_rule"], row["_zt_reason"]) == ("n.type", "n 'many' does not fit type int64")
