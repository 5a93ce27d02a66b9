from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from tests.quality.test_ingest_quality import CUSTOMERS, SPECS
from zhongtai.cli import context
from zhongtai.cli.quality import app
from zhongtai.lake.ingest import ingest

pytestmark = pytest.mark.integration


@pytest.fixture
def reported(bench, monkeypatch):
    bench.sql(
        "CREATE TABLE customers (id INTEGER, phone TEXT, email TEXT, age INTEGER, status TEXT, signup TEXT)"
    )
    bench.sql(
        "INSERT INTO customers VALUES (:id, :phone, :email, :age, :status, :signup)",
        [
            dict(zip(("id", "phone", "email", "age", "status", "signup"), row, strict=True))
            for row in CUSTOMERS
        ],
    )
    bench.apply(SPECS.replace("    primary_key: [id]\n", ""))
    ingest(bench.store, bench.lake, "customers")
    monkeypatch.setenv("ZT_METADATA_URL", bench.store.url)
    monkeypatch.setenv("ZT_LAKE_URL", bench.lake.url)
    context.reset()
    yield bench
    context.reset()


def test_report_json(reported):
    out = CliRunner().invoke(app, ["report", "customers", "--json", "--samples", "3"])
    assert out.exit_code == 0, out.output
    body = json.loads(out.output)
    assert (body["version"], body["rows_in"], body["rows_kept"], body["rows_quarantined"]) == (1, 6, 2, 4)
    assert {r["rule"]: r["failed"] for r in body["rules"]}["phone.regex"] == 1
    assert len(body["samples"]) == 3


def test_report_table(reported):
    out = CliRunner().invoke(app, ["report", "customers"], env={"COLUMNS": "200"})
    assert out.exit_code == 0, out.output
    assert "4 quarantined" in out.output
    assert "phone.regex" in out.output
    assert "quarantined rows (sample)" in out.output
