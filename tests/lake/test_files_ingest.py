"""Ingesting files end to end: errors that name file, line and column but never a value, encodings, empty
files, malformed JSON lines, and the rows read recorded for every run."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from zhongtai.connect import files
from zhongtai.errors import ZhongtaiError
from zhongtai.lake.ingest import ingest
from zhongtai.lake.reader import read_table

pytestmark = pytest.mark.integration

RESIDENT_ID = "11010519491231002X"
PHONE = "13812345678"

SPECS = """\
sources:
  - {{name: drop, type: files, url: "{folder}"}}
datasets:
  - {{name: people, source: drop, path: people.csv, primary_key: [id]{extra}}}
  - {{name: events, source: drop, path: events.jsonl{events}}}
"""


@pytest.fixture
def drop(lake_bench, tmp_path, monkeypatch):
    """A folder of files, registered as the source `drop` with datasets `people` (CSV) and `events` (JSONL)."""
    folder = tmp_path / "drop"
    folder.mkdir()
    monkeypatch.setattr(files, "BLOCK_BYTES", 4096)  # types come from the first block: make it small

    def apply(extra: str = "", events: str = "") -> None:
        lake_bench.apply(SPECS.format(folder=folder, extra=extra, events=events))

    lake_bench.folder = folder
    lake_bench.apply_files = apply
    apply()
    return lake_bench


def _write(path: Path, text: str, encoding: str = "utf8") -> None:
    path.write_bytes(text.encode(encoding))


def _people(count: int, start: int = 0) -> str:
    rows = "".join(f"{i},{1000 + i},客户{i}\n" for i in range(start, start + count))
    return "id,card,name\n" + rows


def _failure(bench, name: str, caplog) -> ZhongtaiError:
    with caplog.at_level(logging.DEBUG), pytest.raises(ZhongtaiError) as caught:
        ingest(bench.store, bench.lake, name)
    return caught.value


def _stored_message(bench, name: str) -> str:
    run = bench.store.runs(name)[0]
    assert run.status == "failed"
    return run.message or ""


def test_a_bad_value_is_named_by_file_line_and_column_never_quoted(drop, caplog):
    # The first block says `card` is int64; a resident ID on line 5000 does not fit.
    _write(drop.folder / "people.csv", _people(4997) + f"4997,{RESIDENT_ID},客户\n")
    error = _failure(drop, "people", caplog)
    assert "people.csv line 4999" in error.message
    assert "column 'card'" in error.message and "int64" in error.message
    for text in (error.message, error.hint or "", _stored_message(drop, "people"), caplog.text):
        assert RESIDENT_ID not in text


def test_a_row_with_too_many_fields_is_named_by_line_without_its_text(drop, caplog):
    _write(drop.folder / "people.csv", _people(3) + f"3,1003,张三,{PHONE}\n")
    error = _failure(drop, "people", caplog)
    assert "people.csv line 5" in error.message and "4 fields, expected 3" in error.message
    for text in (error.message, error.hint or "", _stored_message(drop, "people"), caplog.text):
        assert PHONE not in text and "张三" not in text


def test_a_value_that_misses_its_declared_type_in_json_lines_names_the_line(drop, caplog):
    drop.apply_files(events=", fields: [{name: phone, type: int64}]")
    lines = [f'{{"id": {i}, "phone": {i}}}' for i in range(3)] + [f'{{"id": 3, "phone": "{PHONE}x"}}']
    _write(drop.folder / "events.jsonl", "\n".join(lines) + "\n")
    error = _failure(drop, "events", caplog)
    assert "events.jsonl line 4" in error.message and "column 'phone'" in error.message
    assert "int64" in error.message
    for text in (error.message, _stored_message(drop, "events"), caplog.text):
        assert PHONE not in text


def test_a_type_change_in_json_lines_names_the_line(drop, caplog):
    lines = [f'{{"id": {i}, "phone": {i}}}' for i in range(400)] + [f'{{"id": 400, "phone": "{PHONE}"}}']
    _write(drop.folder / "events.jsonl", "\n".join(lines) + "\n")
    error = _failure(drop, "events", caplog)
    assert "events.jsonl line 401: column 'phone' was int64 and is now string" in error.message
    for text in (error.message, _stored_message(drop, "events"), caplog.text):
        assert PHONE not in text


def test_a_truncated_json_line_names_the_file_and_line(drop, caplog):
    lines = ['{"id": 1, "v": "a"}', '{"id": 2, "v":', '{"id": 3, "v": "c"}']
    _write(drop.folder / "events.jsonl", "\n".join(lines) + "\n")
    error = _failure(drop, "events", caplog)
    assert error.code == "source_error"
    assert "events.jsonl line 2: not a complete JSON record" in error.message
    assert "changed" not in error.message


def test_a_gbk_file_read_as_utf8_says_what_it_looks_like_and_how_to_declare_it(drop, caplog):
    _write(drop.folder / "people.csv", _people(40).replace("客户", "张先生"), encoding="gbk")
    error = _failure(drop, "people", caplog)
    assert error.code == "source_error"
    assert "people.csv line 2: not UTF-8" in error.message
    assert "looks like gb18030" in error.message
    assert "csv: {encoding: gb18030}" in (error.hint or "")
    assert drop.store.current_version("people") is None


def test_gb18030_is_read_once_declared(drop):
    drop.apply_files(", csv: {encoding: gb18030}")
    _write(drop.folder / "people.csv", _people(3).replace("客户", "张先生"), encoding="gb18030")
    ingest(drop.store, drop.lake, "people")
    rows = read_table(drop.store, drop.lake, "people").to_pylist()
    assert [r["name"] for r in rows] == ["张先生0", "张先生1", "张先生2"]


def test_a_wrong_declared_encoding_names_the_line(drop, caplog):
    drop.apply_files(", csv: {encoding: gbk}")
    (drop.folder / "people.csv").write_bytes(_people(3).replace("客户", "c").encode() + b"3,1003,\xff\n")
    error = _failure(drop, "people", caplog)
    assert error.code == "source_error"
    assert "people.csv line 5: not gbk" in error.message
    assert "encoding" in (error.hint or "")


@pytest.mark.parametrize("content", ["", "id,card,name\n"], ids=["0 bytes", "header only"])
def test_an_empty_file_leaves_the_current_version_and_schema(drop, content):
    _write(drop.folder / "people.csv", _people(3))
    first = ingest(drop.store, drop.lake, "people")
    _write(drop.folder / "people.csv", content)
    again = ingest(drop.store, drop.lake, "people")
    assert (again.created, again.version, again.rows_read, again.schema_changes) == (False, 1, 0, [])
    assert drop.store.current_version("people").schema == drop.store.version("people", first.version).schema
    run = drop.store.runs("people")[0]
    assert (run.status, run.rows_read) == ("unchanged", 0)
    assert "no rows" in (run.message or "")


def test_an_empty_json_lines_file_is_an_empty_batch(drop):
    _write(drop.folder / "events.jsonl", '{"id": 1}\n')
    ingest(drop.store, drop.lake, "events")
    _write(drop.folder / "events.jsonl", "")
    again = ingest(drop.store, drop.lake, "events")
    assert (again.created, again.version, again.rows_read) == (False, 1, 0)


@pytest.mark.parametrize("content", ["", "id,card,name\n"], ids=["0 bytes", "header only"])
def test_an_empty_file_on_the_first_ingest_has_no_schema_to_infer(drop, content):
    _write(drop.folder / "people.csv", content)
    with pytest.raises(ZhongtaiError, match=r"people\.csv holds no rows: no column types to infer") as caught:
        ingest(drop.store, drop.lake, "people")
    assert "declare" in (caught.value.hint or "")
    assert drop.store.current_version("people") is None


def test_an_empty_file_on_the_first_ingest_with_declared_columns_is_an_empty_version(drop):
    fields = ", fields: [{name: id, type: int64}, {name: card, type: string}, {name: name, type: string}]"
    drop.apply_files(fields)
    _write(drop.folder / "people.csv", "")
    result = ingest(drop.store, drop.lake, "people")
    assert (result.created, result.version, result.rows) == (True, 1, 0)
    assert [c.name for c in drop.store.current_version("people").schema] == ["id", "card", "name"]


def test_rows_read_is_recorded_for_every_run(drop):
    _write(drop.folder / "people.csv", _people(5))
    ingest(drop.store, drop.lake, "people")
    _write(drop.folder / "people.csv", _people(7))
    ingest(drop.store, drop.lake, "people")
    ingest(drop.store, drop.lake, "people")
    assert [(r.status, r.rows_read) for r in drop.store.runs("people")] == [
        ("unchanged", 7),
        ("succeeded", 7),
        ("succeeded", 5),
    ]


def test_export_writes_nested_values_as_json_in_csv_and_as_objects_in_json_lines(drop, tmp_path):
    from zhongtai.lake.export import export_dataset

    lines = [
        '{"id": 1, "address": {"city": "上海", "zip": "200000"}, "tags": ["vip"], "at": "2026-01-02T03:04:05"}',
        '{"id": 2, "address": null, "tags": [], "at": null}',
    ]
    _write(drop.folder / "events.jsonl", "\n".join(lines) + "\n")
    ingest(drop.store, drop.lake, "events")
    csv_out, jsonl_out = tmp_path / "e.csv", tmp_path / "e.jsonl"
    assert export_dataset(drop.store, drop.lake, "events", csv_out).rows == 2
    assert export_dataset(drop.store, drop.lake, "events", jsonl_out).rows == 2
    assert csv_out.read_text().splitlines() == [
        '"id","address","tags","at"',
        '1,"{""city"": ""上海"", ""zip"": ""200000""}","[""vip""]",2026-01-02 03:04:05.000000',
        '2,,"[]",',
    ]
    rows = [json.loads(line) for line in jsonl_out.read_text().splitlines()]
    assert rows == [
        {"id": 1, "address": {"city": "上海", "zip": "200000"}, "tags": ["vip"], "at": "2026-01-02 03:04:05"},
        {"id": 2, "address": None, "tags": [], "at": None},
    ]
