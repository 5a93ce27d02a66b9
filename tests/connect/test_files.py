"""The files connector: CSV, Parquet and JSON lines from a local folder or an fsspec URL."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import uuid
from decimal import Decimal
from pathlib import Path

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from zhongtai.connect import files
from zhongtai.connect.base import Connector, open_connector
from zhongtai.connect.batches import without_values
from zhongtai.errors import SourceError, ZhongtaiError
from zhongtai.spec.models import DatasetSpec, FilesSource

pytestmark = pytest.mark.unit


def _connector(url: str, environ: dict[str, str] | None = None) -> Connector:
    return open_connector(FilesSource(name="lake_drop", type="files", url=url), environ or {})


def _dataset(path: str, **fields: object) -> DatasetSpec:
    return DatasetSpec(name="orders", source="lake_drop", path=path, **fields)


def _read(url: str, dataset: DatasetSpec, since: object = None) -> list[pa.RecordBatch]:
    return list(_connector(url).read(dataset, since))


def _rows(batches: list[pa.RecordBatch]) -> list[dict]:
    """All rows; batches read before a column's first value hold it as null, so the tables are unified."""
    tables = [pa.Table.from_batches([batch]) for batch in batches]
    return pa.concat_tables(tables, promote_options="default").to_pylist() if tables else []


def _write(path: Path, text: str, encoding: str = "utf8") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))


def _csv_rows(start: int, stop: int) -> str:
    lines = [f"{i},客户{i},{i * 1.5},2024-03-01 {i % 24:02d}:00:00" for i in range(start, stop)]
    return "id,name,amount,updated_at\n" + "\n".join(lines) + "\n"


@pytest.fixture
def csv_folder(tmp_path) -> Path:
    """Three CSV files of 50 rows in all, written out of order, plus a file and a folder the glob skips."""
    _write(tmp_path / "orders" / "2024-03.csv", _csv_rows(30, 50))
    _write(tmp_path / "orders" / "2024-01.csv", _csv_rows(0, 20))
    _write(tmp_path / "orders" / "2024-02.csv", _csv_rows(20, 30))
    _write(tmp_path / "orders" / "notes.txt", "not data")
    (tmp_path / "orders" / "archive.csv").mkdir()
    return tmp_path


def test_connector_satisfies_the_protocol(tmp_path):
    assert isinstance(_connector(str(tmp_path)), Connector)


def test_csv_glob_reads_files_in_path_order_with_inferred_types(csv_folder):
    batches = _read(str(csv_folder), _dataset("orders/*.csv"))
    rows = _rows(batches)
    assert [row["id"] for row in rows] == list(range(50))
    assert rows[7] == {"id": 7, "name": "客户7", "amount": 10.5, "updated_at": dt.datetime(2024, 3, 1, 7)}
    assert batches[0].schema == pa.schema(
        [
            ("id", pa.int64()),
            ("name", pa.string()),
            ("amount", pa.float64()),
            ("updated_at", pa.timestamp("s")),
        ]
    )


def test_batches_hold_at_most_batch_rows(csv_folder):
    batches = _read(str(csv_folder), _dataset("orders/*.csv", batch_rows=7))
    assert max(batch.num_rows for batch in batches) == 7
    assert [row["id"] for row in _rows(batches)] == list(range(50))


def test_small_blocks_are_streamed_and_rechunked(csv_folder, monkeypatch):
    monkeypatch.setattr(files, "BLOCK_BYTES", 64)
    batches = _read(str(csv_folder), _dataset("orders/2024-01.csv", batch_rows=3))
    assert len(batches) > 7
    assert all(0 < batch.num_rows <= 3 for batch in batches)
    assert [row["id"] for row in _rows(batches)] == list(range(20))


def test_parquet_files_are_read_row_group_by_row_group(tmp_path):
    folder = tmp_path / "pq"
    folder.mkdir()
    for part in range(2):
        table = pa.table(
            {"id": list(range(part * 25, part * 25 + 25)), "city": ["上海", "北京", None, "深圳", "广州"] * 5}
        )
        pq.write_table(table, folder / f"part-{part}.parquet", row_group_size=10)
    batches = _read(str(tmp_path), _dataset("pq/*.parquet", batch_rows=8))
    assert all(batch.num_rows <= 8 for batch in batches)
    rows = _rows(batches)
    assert [row["id"] for row in rows] == list(range(50))
    assert [row["city"] for row in rows[:3]] == ["上海", "北京", None]


def test_jsonl_with_nested_records(tmp_path):
    records = [{"id": i, "customer": {"name": f"王{i}", "tags": ["vip"] if i % 2 else []}} for i in range(5)]
    _write(tmp_path / "events.jsonl", "\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n")
    batches = _read(str(tmp_path), _dataset("*.jsonl"))
    assert _rows(batches) == records
    assert batches[0].schema.field("customer").type == pa.struct(
        [("name", pa.string()), ("tags", pa.list_(pa.string()))]
    )


def test_gzip_compressed_csv_and_jsonl(tmp_path):
    (tmp_path / "a.csv.gz").write_bytes(gzip.compress("id,name\n1,甲\n2,乙\n".encode()))
    (tmp_path / "b.ndjson.gz").write_bytes(gzip.compress(b'{"id": 3}\n{"id": 4}\n'))
    assert _rows(_read(str(tmp_path), _dataset("*.csv.gz"))) == [
        {"id": 1, "name": "甲"},
        {"id": 2, "name": "乙"},
    ]
    assert _rows(_read(str(tmp_path), _dataset("*.ndjson.gz"))) == [{"id": 3}, {"id": 4}]


def test_memory_filesystem_through_fsspec():
    root = f"memory://bucket-{uuid.uuid4().hex[:8]}/drop"
    fs = fsspec.filesystem("memory")
    for name, text in [("b.jsonl", '{"id": 2, "v": "二"}\n'), ("a.jsonl", '{"id": 1, "v": "一"}\n')]:
        with fs.open(f"{root}/{name}", "wb") as handle:
            handle.write(text.encode())
    connector = _connector(root)
    assert connector.check() == f"folder {root}: 2 files"
    assert _rows(list(connector.read(_dataset("*.jsonl")))) == [{"id": 1, "v": "一"}, {"id": 2, "v": "二"}]


def test_url_from_the_environment(csv_folder):
    connector = _connector("${env:DROP_DIR}", {"DROP_DIR": str(csv_folder)})
    assert len(_rows(list(connector.read(_dataset("orders/2024-02.csv"))))) == 10


@pytest.mark.parametrize(
    ("first", "second", "message"),
    [
        (
            "id,amount\n1,10\n",
            "id,amount\n2,abc\n",
            r"column 'amount' holds a value that is not int64",
        ),
        (
            '{"id": 1, "amount": 10}\n',
            '{"id": 2, "amount": "abc"}\n',
            r"column 'amount' was int64 and is now string",
        ),
    ],
    ids=["csv", "jsonl"],
)
def test_type_change_across_files_is_schema_changed(tmp_path, first, second, message):
    suffix = "csv" if first.startswith("id,") else "jsonl"
    _write(tmp_path / f"a.{suffix}", first)
    _write(tmp_path / f"b.{suffix}", second)
    with pytest.raises(ZhongtaiError, match=rf"file {tmp_path}/b\.{suffix}( line \d+)?: {message}") as caught:
        _read(str(tmp_path), _dataset(f"*.{suffix}"))
    assert caught.value.code == "schema_changed"


def test_type_change_across_parquet_files_is_schema_changed(tmp_path):
    pq.write_table(pa.table({"id": [1], "amount": [10]}), tmp_path / "a.parquet")
    pq.write_table(pa.table({"id": [2], "amount": ["abc"]}), tmp_path / "b.parquet")
    with pytest.raises(ZhongtaiError, match=r"b\.parquet: column 'amount' was int64 and is now string"):
        _read(str(tmp_path), _dataset("*.parquet"))


def test_new_column_in_a_later_file_is_schema_changed(tmp_path):
    _write(tmp_path / "a.csv", "id\n1\n")
    _write(tmp_path / "b.csv", "id,extra\n2,x\n")
    with pytest.raises(ZhongtaiError, match=r"b\.csv: new column\(s\) extra not in the earlier data"):
        _read(str(tmp_path), _dataset("*.csv"))


def test_text_column_keeps_its_type_when_a_later_file_holds_only_digits(tmp_path):
    _write(tmp_path / "a.csv", "id,code\n1,A7\n")
    _write(tmp_path / "b.csv", "id,code\n2,0042\n")
    assert _rows(_read(str(tmp_path), _dataset("*.csv"))) == [
        {"id": 1, "code": "A7"},
        {"id": 2, "code": "0042"},
    ]


def test_column_null_in_one_file_takes_the_type_of_another(tmp_path):
    _write(tmp_path / "a.jsonl", '{"id": 1, "note": null}\n')
    _write(tmp_path / "b.jsonl", '{"id": 2, "note": "有备注"}\n{"id": 3}\n')
    _write(tmp_path / "c.csv", "id,note\n1,\n")
    _write(tmp_path / "d.csv", "id,note\n2,有\n")
    connector = _connector(str(tmp_path))
    for path in ("*.jsonl", "*.csv"):
        batches = list(connector.read(_dataset(path)))
        assert [batch.schema.field("note").type for batch in batches] == [pa.null(), pa.string()]
        assert connector.schema(_dataset(path)).field("note").type == pa.string()
    assert _rows(list(connector.read(_dataset("*.jsonl")))) == [
        {"id": 1, "note": None},
        {"id": 2, "note": "有备注"},
        {"id": 3, "note": None},
    ]


def test_value_after_an_empty_first_block_asks_for_a_declared_type(tmp_path, monkeypatch):
    monkeypatch.setattr(files, "BLOCK_BYTES", 32)
    _write(tmp_path / "a.csv", "id,note\n" + "1,\n" * 30 + "2,late\n")
    with pytest.raises(
        ZhongtaiError,
        match=r"a\.csv line 32: column 'note' was null \(no values before\) and now holds a value",
    ) as caught:
        _read(str(tmp_path), _dataset("a.csv"))
    assert "declare the type" in (caught.value.hint or "")
    rows = _rows(_read(str(tmp_path), _dataset("a.csv", fields=[{"name": "note", "type": "string"}])))
    assert rows[-1] == {"id": 2, "note": "late"}


def test_declared_types_become_csv_column_types(tmp_path):
    _write(tmp_path / "a.csv", "zip,amount,paid_at\n00123,12.50,2024-01-02T03:04:05Z\n")
    fields = [
        {"name": "zip", "type": "string"},
        {"name": "amount", "type": "decimal(10,2)"},
        {"name": "paid_at", "type": "timestamp_tz"},
    ]
    batches = _read(str(tmp_path), _dataset("a.csv", fields=fields))
    assert batches[0].schema == pa.schema(
        [("zip", pa.string()), ("amount", pa.decimal128(10, 2)), ("paid_at", pa.timestamp("us", tz="UTC"))]
    )
    assert _rows(batches) == [
        {
            "zip": "00123",
            "amount": Decimal("12.50"),
            "paid_at": dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
        }
    ]


def test_declared_types_cast_parquet_and_jsonl(tmp_path):
    pq.write_table(pa.table({"id": pa.array([1, 2], pa.int32())}), tmp_path / "a.parquet")
    _write(tmp_path / "b.jsonl", '{"id": 3, "at": "2024-05-01T00:00:00"}\n')
    fields = [{"name": "id", "type": "int64"}, {"name": "at", "type": "timestamp"}]
    parquet = _read(str(tmp_path), _dataset("*.parquet", fields=fields))
    assert parquet[0].schema == pa.schema([("id", pa.int64())])
    jsonl = _read(str(tmp_path), _dataset("*.jsonl", fields=fields))
    assert _rows(jsonl) == [{"id": 3, "at": dt.datetime(2024, 5, 1)}]


def test_declared_type_that_does_not_fit_is_schema_changed(tmp_path):
    _write(tmp_path / "a.jsonl", '{"id": "x1"}\n')
    with pytest.raises(
        ZhongtaiError,
        match=r"a\.jsonl record 1: column 'id' holds a value that does not fit its declared type int64",
    ):
        _read(str(tmp_path), _dataset("a.jsonl", fields=[{"name": "id", "type": "int64"}]))


def test_csv_options_delimiter_header_and_encoding(tmp_path):
    _write(tmp_path / "gbk.csv", "编号;姓名\n1;张三\n2;李四\n", encoding="gbk")
    _write(tmp_path / "bare.csv", "1|甲\n2|乙\n")
    gbk = _dataset("gbk.csv", csv={"delimiter": ";", "encoding": "gbk"})
    assert _rows(_read(str(tmp_path), gbk)) == [{"编号": 1, "姓名": "张三"}, {"编号": 2, "姓名": "李四"}]
    bare = _dataset(
        "bare.csv", csv={"delimiter": "|", "header": False}, fields=[{"name": "id"}, {"name": "name"}]
    )
    assert _rows(_read(str(tmp_path), bare)) == [{"id": 1, "name": "甲"}, {"id": 2, "name": "乙"}]


def test_incremental_filters_rows_at_or_after_since(csv_folder):
    dataset = _dataset("orders/*.csv", incremental={"watermark": "id"}, batch_rows=4)
    assert [row["id"] for row in _rows(_read(str(csv_folder), dataset, since=45))] == [45, 46, 47, 48, 49]
    by_time = _dataset("orders/2024-01.csv", incremental={"watermark": "updated_at"})
    rows = _rows(_read(str(csv_folder), by_time, since=dt.datetime(2024, 3, 1, 17)))
    assert [row["id"] for row in rows] == [17, 18, 19]
    assert [row["id"] for row in _rows(_read(str(csv_folder), by_time, since="2024-03-01 18:00:00"))] == [
        18,
        19,
    ]


def test_incremental_on_json_timestamps_compares_instants(tmp_path):
    lines = [
        {"id": 1, "updated_at": "2024-01-01T10:00:00+08:00"},  # 02:00 UTC
        {"id": 2, "updated_at": "2024-01-01T03:00:00Z"},
        {"id": 3, "updated_at": "2024-01-01T09:30:00+08:00"},  # 01:30 UTC
    ]
    _write(tmp_path / "a.jsonl", "\n".join(json.dumps(line) for line in lines))
    dataset = _dataset("a.jsonl", incremental={"watermark": "updated_at"})
    rows = _rows(_read(str(tmp_path), dataset, since="2024-01-01T02:00:00Z"))
    assert [row["id"] for row in rows] == [1, 2]
    # pyarrow reads ISO timestamps in JSON as UTC instants.
    assert rows[0]["updated_at"] == dt.datetime(2024, 1, 1, 2, 0)


def test_no_matching_files_names_the_folder_and_the_glob(tmp_path):
    with pytest.raises(
        SourceError, match=rf"dataset 'orders': no files match 'nope/\*\.csv' in folder {tmp_path}$"
    ):
        _read(str(tmp_path), _dataset("nope/*.csv"))


def test_unknown_extension_asks_for_a_format(tmp_path):
    _write(tmp_path / "data.txt", "id\n1\n")
    with pytest.raises(SourceError, match=r"cannot tell the format of file .*data\.txt"):
        _read(str(tmp_path), _dataset("*.txt"))
    assert _rows(_read(str(tmp_path), _dataset("*.txt", format="csv"))) == [{"id": 1}]


def test_bad_json_is_a_source_error_naming_the_file(tmp_path):
    _write(tmp_path / "a.jsonl", '{"id": 1\n')
    with pytest.raises(SourceError, match=r"file .*a\.jsonl line 1: not a complete JSON record"):
        _read(str(tmp_path), _dataset("a.jsonl"))


def test_empty_file_has_no_rows(tmp_path):
    _write(tmp_path / "a.csv", "")
    _write(tmp_path / "b.csv", "id\n5\n")
    assert _rows(_read(str(tmp_path), _dataset("*.csv"))) == [{"id": 5}]


def test_check_lists_the_folder(csv_folder):
    assert (
        _connector(str(csv_folder / "orders")).check()
        == f"folder {csv_folder / 'orders'}: 4 files, 1 folders"
    )


def test_check_of_a_missing_folder_is_a_source_error(tmp_path):
    with pytest.raises(SourceError, match=rf"source 'lake_drop': cannot list folder {tmp_path}/gone"):
        _connector(str(tmp_path / "gone")).check()


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (
            "In CSV column #1: CSV conversion error to int64: invalid value '11010519491231002X'",
            "In CSV column #1: CSV conversion error to int64: invalid value <value>",
        ),
        (
            "CSV parse error: Expected 2 columns, got 3: 2,张三,13800001111",
            "CSV parse error: Expected 2 columns, got 3",
        ),
        (
            "Could not convert 13800001111 with type int: tried to convert to string",
            "Could not convert <value> with type int: tried to convert to string",
        ),
        (
            'Conversion Error: Could not convert string "13800001111" to INT32',
            "Conversion Error: Could not convert string <value> to INT32",
        ),
    ],
)
def test_error_texts_of_pyarrow_and_duckdb_lose_their_values(text, shown):
    assert without_values(text) == shown


def test_json_lines_that_are_not_utf8_say_what_they_look_like(tmp_path):
    lines = "".join(f'{{"id": {i}, "name": "张先生{i}"}}\n' for i in range(40))
    (tmp_path / "a.jsonl").write_bytes(lines.encode("gb18030"))
    with pytest.raises(
        SourceError, match=r"a\.jsonl line 1: not UTF-8; the file looks like gb18030"
    ) as caught:
        _read(str(tmp_path), _dataset("a.jsonl"))
    assert "iconv -f gb18030 -t utf-8" in (caught.value.hint or "")


def test_non_utf8_text_after_the_sample_is_found_by_line(tmp_path, monkeypatch):
    monkeypatch.setattr(files, "BLOCK_BYTES", 4096)
    head = "id,name\n" + "".join(f"{i},name{i}\n" for i in range(9000))
    (tmp_path / "a.csv").write_bytes(head.encode() + "9000,张先生\n".encode("gbk"))
    with pytest.raises(SourceError, match=r"a\.csv line 9002: not UTF-8") as caught:
        _read(str(tmp_path), _dataset("a.csv"))
    assert "csv: {encoding:" in (caught.value.hint or "")


def test_an_unknown_encoding_is_an_invalid_spec(tmp_path):
    _write(tmp_path / "a.csv", "id\n1\n")
    with pytest.raises(ZhongtaiError, match=r"csv\.encoding 'klingon' is not an encoding Python knows"):
        _read(str(tmp_path), _dataset("a.csv", csv={"encoding": "klingon"}))


def test_a_bad_value_in_a_headerless_csv_names_the_declared_column_and_line(tmp_path):
    _write(tmp_path / "a.csv", "1,13800000001\n2,13800000002\n3,1380000000x\n")
    fields = [{"name": "id", "type": "int64"}, {"name": "phone", "type": "int64"}]
    dataset = _dataset("a.csv", csv={"header": False}, fields=fields)
    with pytest.raises(
        ZhongtaiError, match=r"a\.csv line 3: column 'phone' holds a value that is not int64"
    ) as caught:
        _read(str(tmp_path), dataset)
    assert "1380000000x" not in caught.value.message
