"""`zhongtai datasets` on a files source: runs with rows read, unknown names, `export` to Parquet, CSV and
JSON lines with PII as the lake stores it, and ingest errors that never print a value."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.cli.project import applied_project
from zhongtai.connect import files

pytestmark = pytest.mark.integration

RESIDENT_ID = "11010519491231002X"
SPECS = """\
sources:
  - {{name: files, type: files, url: "{folder}"}}
datasets:
  - name: contacts
    source: files
    path: contacts.csv
    primary_key: [id]
    fields:
      - {{name: mobile, pii: phone}}
"""


@pytest.fixture
def cli(zt_env, tmp_path):
    rows = [f"{k},1380000{k:04d},{k * 1.5},2026-01-{k % 28 + 1:02d}" for k in range(30)]
    yield from applied_project(tmp_path, SPECS, "id,mobile,score,since\n" + "\n".join(rows) + "\n")


def test_runs_show_rows_read_and_an_unknown_dataset_is_not_found(cli):
    assert cli("ingest", "contacts").exit_code == 0
    runs = json.loads(cli("datasets", "runs", "contacts", "--json").stdout)
    assert [(r["status"], r["rows_read"]) for r in runs] == [("succeeded", 30)]
    unknown = cli("datasets", "runs", "nosuch")
    assert unknown.exit_code == 1
    assert "dataset 'nosuch' is not registered" in unknown.output


@pytest.mark.parametrize("suffix", ["parquet", "csv", "jsonl"])
def test_export_writes_the_rows_preview_shows(cli, tmp_path, suffix):
    assert cli("ingest", "contacts").exit_code == 0
    preview = json.loads(cli("datasets", "preview", "contacts", "-n", "100", "--json").stdout)
    out = tmp_path / f"contacts.{suffix}"
    result = cli("datasets", "export", "contacts", "--out", str(out), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "dataset": "contacts",
        "version": 1,
        "rows": 30,
        "path": str(out),
        "format": suffix,
    }
    assert "13800000007" not in out.read_bytes().decode("utf-8", "replace")
    if suffix == "parquet":
        rows = pq.read_table(out).to_pylist()
        assert [(r["id"], r["mobile"], r["score"]) for r in rows] == [
            (r["id"], r["mobile"], r["score"]) for r in preview
        ]
    elif suffix == "jsonl":
        rows = [json.loads(line) for line in out.read_text().splitlines()]
        assert rows == [{**r, "since": r["since"][:10]} for r in preview]
    else:
        lines = out.read_text().splitlines()
        assert lines[0] == '"id","mobile","score","since"' and len(lines) == 31
        assert lines[1].startswith(f'0,"{preview[0]["mobile"]}",0,')
    assert all(r["mobile"].startswith("phone:") for r in preview)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_export_refuses_to_overwrite_without_force_and_takes_a_past_version(cli, tmp_path):
    assert cli("ingest", "contacts").exit_code == 0
    out = tmp_path / "out.data"
    refused = cli("datasets", "export", "contacts", "--out", str(out))
    assert refused.exit_code == 1 and "cannot tell the format from the extension '.data'" in refused.output
    out.write_text("keep me")
    refused = cli("datasets", "export", "contacts", "--out", str(out), "--format", "csv")
    assert refused.exit_code == 1 and "already exists" in refused.output and "--force" in refused.output
    assert out.read_text() == "keep me"
    replaced = cli("datasets", "export", "contacts", "-o", str(out), "-f", "csv", "--force", "--version", "1")
    assert replaced.exit_code == 0, replaced.output
    assert "30 rows of contacts version 1 written to" in replaced.output.replace("\n", " ")
    assert len(out.read_text().splitlines()) == 31
    missing = cli("datasets", "export", "contacts", "-o", str(tmp_path / "x.csv"), "--version", "7")
    assert missing.exit_code == 1 and "version 'contacts@7' is not registered" in missing.output


def test_an_ingest_error_prints_where_the_bad_value_is_and_never_the_value(cli, tmp_path, monkeypatch):
    monkeypatch.setattr(files, "BLOCK_BYTES", 4096)  # the first block decides that `score` is a number
    assert cli("ingest", "contacts").exit_code == 0
    data = tmp_path / "data" / "contacts.csv"
    more = "".join(f"{k},1380000{k:04d},{k},2026-01-02\n" for k in range(30, 300))
    data.write_text(data.read_text() + more + f"300,13800000300,{RESIDENT_ID},2026-01-02\n")
    failed = cli("ingest", "contacts")
    assert failed.exit_code == 1
    text = " ".join(failed.output.split())
    assert "contacts.csv line 302: column 'score' holds a value that is not double" in text
    runs = cli("datasets", "runs", "contacts", "--json").stdout
    for text in (failed.output, runs):
        assert RESIDENT_ID not in text


def test_a_gbk_file_gets_the_encoding_to_declare(cli, tmp_path):
    data = tmp_path / "data" / "contacts.csv"
    rows = "".join(f"{k},1380000{k:04d},王芳{k},2026-01-01\n" for k in range(30))
    data.write_bytes(("id,mobile,name,since\n" + rows).encode("gbk"))
    failed = cli("ingest", "contacts")
    assert failed.exit_code == 1
    text = " ".join(failed.output.split())
    assert "contacts.csv line 2: not UTF-8; the file looks like gb18030" in text
    assert "csv: {encoding: gb18030}" in text
    assert Path(data).exists()
