"""Read CSV, Parquet and JSON-lines files from a local folder or any fsspec URL as Arrow batches."""

from __future__ import annotations

import csv
import posixpath
import re
from collections.abc import Iterator, Mapping
from typing import Any

import fsspec
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json
import pyarrow.parquet as pq

from zhongtai.config import mask_url
from zhongtai.connect.batches import (
    SchemaTracker,
    has_null,
    keep_since,
    resolve_for,
    schema_changed,
    slices,
    with_declared,
    without_values,
)
from zhongtai.connect.file_problems import (
    at_line,
    check_utf8_sample,
    codec_name,
    csv_rows,
    csv_value_line,
    csv_width_line,
    encoding_error,
    guess,
    json_problem,
    undecodable_line,
)
from zhongtai.connect.types import arrow_type, cast_batch
from zhongtai.errors import SourceError, ZhongtaiError
from zhongtai.spec.models import CsvOptions, DatasetSpec, FilesSource

# pyarrow infers CSV and JSON types from the first block of each file, so blocks are large.
BLOCK_BYTES = 8 << 20
_FORMATS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".json": "jsonl",
    ".ndjson": "jsonl",
}
_COMPRESSED = (".gz", ".bz2", ".zst", ".xz")


def connector(source: FilesSource, environ: Mapping[str, str] | None) -> FilesConnector:
    """The connector for a folder of files; the URL and storage options are resolved when it is listed."""
    return FilesConnector(source, environ)


class FilesConnector:
    """One folder of files. The filesystem is opened when first needed; nothing is held between calls."""

    def __init__(self, source: FilesSource, environ: Mapping[str, str] | None) -> None:
        self.source = source
        self._environ = environ

    def check(self) -> str:
        """List the folder: `folder /x/y: 12 files`."""
        fs, root, shown = self._filesystem()
        try:
            entries = fs.ls(root, detail=True)
        except (OSError, ValueError) as exc:
            raise SourceError(f"source '{self.source.name}': cannot list folder {shown}: {exc}") from None
        files = sum(1 for entry in entries if entry.get("type") == "file")
        folders = len(entries) - files
        return f"folder {shown}: {files} files" + (f", {folders} folders" if folders else "")

    def schema(self, dataset: DatasetSpec) -> pa.Schema:
        """Read from the first file on until every column has shown a value (usually one block)."""
        tracker = SchemaTracker(self._where(dataset), fill_missing=True)
        for _ in self._batches(dataset, tracker):
            if not tracker.has_nulls():
                break
        return tracker.schema if tracker.schema is not None else pa.schema([])

    def read(self, dataset: DatasetSpec, since: Any | None = None) -> Iterator[pa.RecordBatch]:
        """The matching files in sorted path order, in batches of at most `batch_rows` rows."""
        where = self._where(dataset)
        tracker = SchemaTracker(where, fill_missing=True)
        for batch in self._batches(dataset, tracker):
            if since is not None and dataset.incremental is not None:
                batch = keep_since(batch, dataset.incremental.watermark, since, where)
            yield from slices(batch, dataset.batch_rows)

    def close(self) -> None:
        """Nothing to release: files are closed as soon as they are read."""

    def _where(self, dataset: DatasetSpec) -> str:
        return f"source '{self.source.name}' dataset '{dataset.name}'"

    def _filesystem(self) -> tuple[fsspec.AbstractFileSystem, str, str]:
        url = resolve_for(self.source.name, self.source.url, self._environ)
        options = {
            k: resolve_for(self.source.name, v, self._environ) for k, v in self.source.storage_options.items()
        }
        try:
            fs, root = fsspec.core.url_to_fs(url, **options)
        except (ImportError, ValueError, TypeError) as exc:
            raise SourceError(f"source '{self.source.name}': cannot open {mask_url(url)}: {exc}") from None
        return fs, root.rstrip("/") or "/", mask_url(url)

    def _paths(self, dataset: DatasetSpec, fs: fsspec.AbstractFileSystem, root: str, shown: str) -> list[str]:
        pattern = posixpath.join(root, (dataset.path or "").lstrip("/"))
        try:
            found = fs.glob(pattern, detail=True)
        except (OSError, ValueError) as exc:
            raise SourceError(f"{self._where(dataset)}: cannot list folder {shown}: {exc}") from None
        paths = sorted(path for path, info in found.items() if info.get("type") == "file")
        if not paths:
            raise SourceError(
                f"{self._where(dataset)}: no files match '{dataset.path}' in folder {shown}",
                "check the dataset's path (a glob under the source's folder) and the source's url",
            )
        return paths

    def _batches(self, dataset: DatasetSpec, tracker: SchemaTracker) -> Iterator[pa.RecordBatch]:
        """Batches of every file, cast to the declared types and conformed to one schema."""
        fs, root, shown = self._filesystem()
        declared = dataset.declared_types()
        for path in self._paths(dataset, fs, root, shown):
            origin = f"{tracker.where} file {path}"
            file_format = _format(dataset, path, tracker.where)
            tracker.fill_missing = file_format == "jsonl"
            record = 1  # the file's record (CSV row, JSON line) that the batch starts with
            for batch in _file_batches(fs, path, file_format, dataset, tracker.schema, origin):
                batch = cast_batch(batch, declared, origin, record)
                record += batch.num_rows
                if file_format == "jsonl":
                    batch = with_declared(batch, declared)
                yield tracker.conform(batch, origin)


def _format(dataset: DatasetSpec, path: str, where: str) -> str:
    if dataset.format is not None:
        return dataset.format
    name = path.lower()
    for suffix in _COMPRESSED:
        name = name.removesuffix(suffix)
    file_format = _FORMATS.get(posixpath.splitext(name)[1])
    if file_format is None:
        raise SourceError(f"{where}: cannot tell the format of file {path}", "set the dataset's format")
    return file_format


def _file_batches(
    fs: fsspec.AbstractFileSystem,
    path: str,
    file_format: str,
    dataset: DatasetSpec,
    known: pa.Schema | None,
    origin: str,
) -> Iterator[pa.RecordBatch]:
    if file_format == "parquet":
        try:
            with fs.open(path, "rb") as handle:
                yield from pq.ParquetFile(handle).iter_batches(batch_size=dataset.batch_rows)
        except (OSError, EOFError, pa.ArrowInvalid) as exc:
            raise SourceError(f"{origin}: cannot read: {without_values(str(exc))}") from None
        return
    file = _TextFile(fs, path, file_format, dataset, origin)
    file.check_encoding()
    names: list[str] = []
    try:
        with file.open() as handle:
            if file_format == "csv":
                reader = _open_csv(handle, dataset, known, file.encoding)
                names = reader.schema.names
                for batch in reader:
                    file.check_binary(batch)
                    yield batch
            else:
                yield from pa_json.open_json(handle, read_options=pa_json.ReadOptions(block_size=BLOCK_BYTES))
    except pa.ArrowInvalid as exc:
        if str(exc).startswith(("Empty CSV file", "Empty JSON")):
            return
        raise file.read_error(str(exc), names) from None
    except UnicodeDecodeError:
        raise file.decode_error() from None
    except (OSError, EOFError) as exc:
        raise SourceError(f"{origin}: cannot read: {without_values(str(exc))}") from None


def _open_csv(
    handle: Any, dataset: DatasetSpec, known: pa.Schema | None, encoding: str
) -> pa_csv.CSVStreamingReader:
    options = dataset.csv or CsvOptions()
    # Types seen in earlier files are kept, so a file of only digits in a text column still reads as text.
    column_types = {f.name: f.type for f in known or [] if not has_null(f.type)}
    column_types.update({name: arrow_type(logical) for name, logical in dataset.declared_types().items()})
    column_names = [f.name for f in dataset.fields] if not options.header and dataset.fields else None
    return pa_csv.open_csv(
        handle,
        read_options=pa_csv.ReadOptions(
            block_size=BLOCK_BYTES,
            encoding=encoding,
            column_names=column_names,
            autogenerate_column_names=not options.header and column_names is None,
        ),
        parse_options=pa_csv.ParseOptions(delimiter=options.delimiter),
        convert_options=pa_csv.ConvertOptions(column_types=column_types),
    )


class _TextFile:
    """A CSV or JSON-lines file being read: its encoding, and the errors that say where it went wrong.

    Errors never carry pyarrow's text, which quotes values and whole rows; the file is scanned again for the
    line at fault instead (file_problems).
    """

    def __init__(
        self, fs: fsspec.AbstractFileSystem, path: str, file_format: str, dataset: DatasetSpec, origin: str
    ) -> None:
        self.fs, self.path, self.format, self.origin = fs, path, file_format, origin
        self.options = dataset.csv or CsvOptions()
        self.declared = dataset.declared_types()
        self.field_names = [f.name for f in dataset.fields]
        self.encoding = codec_name(self.options.encoding) if file_format == "csv" else "utf-8"
        self.declare = "csv" if file_format == "csv" else None

    def open(self) -> Any:
        return self.fs.open(self.path, "rb", compression="infer")

    def check_encoding(self) -> None:
        """A UTF-8 read of a file that is not UTF-8 stops before any row is read."""
        if self.encoding != "utf-8":
            return
        try:
            with self.open() as handle:
                check_utf8_sample(handle, self.origin, self.declare)
        except (OSError, EOFError) as exc:
            raise SourceError(f"{self.origin}: cannot read: {without_values(str(exc))}") from None

    def check_binary(self, batch: pa.RecordBatch) -> None:
        """pyarrow reads text that is not UTF-8 as binary; a CSV column is binary only when declared so."""
        for field in batch.schema:
            if pa.types.is_binary(field.type) and self.declared.get(field.name) != "binary":
                raise self.decode_error()

    def decode_error(self) -> ZhongtaiError:
        with self.open() as handle:
            found = undecodable_line(handle, self.encoding)
        line, sample = found if found else (None, b"")
        expected = "UTF-8" if self.encoding == "utf-8" else self.options.encoding
        return encoding_error(self.origin, line, expected, guess(sample) if sample else None, self.declare)

    def read_error(self, text: str, names: list[str]) -> ZhongtaiError:
        """pyarrow's error, rewritten to name the line, the column and the kind of problem."""
        text = text.strip().splitlines()[0] if text.strip() else text
        if "invalid UTF8" in text or "Invalid encoding" in text:
            return self.decode_error()
        try:
            return self._csv_error(text, names) if self.format == "csv" else self._json_error(text)
        except UnicodeDecodeError:  # the rescan met text that is not in the file's encoding first
            return self.decode_error()

    def _json_error(self, text: str) -> ZhongtaiError:
        column = re.search(r"Column\(/([^)/]*)[^)]*\) changed from", text)
        with self.open() as handle:
            found = json_problem(handle, column.group(1) if column else None)
        if found is not None:
            line, problem = found
            if problem.startswith("column"):
                return schema_changed(f"{at_line(self.origin, line)}: {problem}")
            return SourceError(f"{at_line(self.origin, line)}: {problem}", "fix or remove the line")
        if column:
            return schema_changed(f"{self.origin}: column '{column.group(1)}' changes type within the file")
        if "unexpected field" in text:
            return schema_changed(
                f"{self.origin}: a record holds a field that the file's first records do not"
            )
        return SourceError(f"{self.origin}: cannot read: {without_values(text)}")

    def _csv_error(self, text: str, names: list[str]) -> ZhongtaiError:
        conversion = re.search(r"CSV column #(\d+): CSV conversion error to (.+?): invalid value", text)
        if conversion:
            index = int(conversion.group(1))
            names = names or self._header()
            column = names[index] if index < len(names) else f"#{index}"
            arrow = _arrow_type(conversion.group(2))
            line = None
            if arrow is not None:
                with self.open() as handle:
                    rows = csv_rows(handle, self.encoding, self.options.delimiter)
                    nulls = pa_csv.ConvertOptions().null_values
                    line = csv_value_line(rows, index, arrow, self.options.header, nulls)
            if conversion.group(2) == "null":
                problem = "was null (no values before) and now holds a value"
            else:
                problem = f"holds a value that is not {conversion.group(2)} (the type of its earlier values)"
            return schema_changed(f"{at_line(self.origin, line)}: column '{column}' {problem}")
        if "Expected" in text and "columns, got" in text:
            with self.open() as handle:
                found = csv_width_line(csv_rows(handle, self.encoding, self.options.delimiter))
            if found is not None:
                line, fields, expected = found
                return SourceError(
                    f"{at_line(self.origin, line)}: {fields} fields, expected {expected}",
                    "quote fields that hold the delimiter, or fix the line",
                )
        return SourceError(f"{self.origin}: cannot read: {without_values(text)}")

    def _header(self) -> list[str]:
        """Column names for an error raised before pyarrow reported them."""
        if not self.options.header:
            return self.field_names
        try:
            with self.open() as handle:
                return next((row for _, row in csv_rows(handle, self.encoding, self.options.delimiter)), [])
        except (OSError, UnicodeDecodeError, csv.Error):
            return []


def _arrow_type(name: str) -> pa.DataType | None:
    """The Arrow type pyarrow names in a conversion error (`int64`, `timestamp[s]`, `double`)."""
    simple = {"double": pa.float64(), "float": pa.float32(), "bool": pa.bool_(), "date32[day]": pa.date32()}
    if name in simple:
        return simple[name]
    unit = re.fullmatch(r"timestamp\[(s|ms|us|ns)(?:, tz=(.+))?\]", name)
    if unit:
        return pa.timestamp(unit.group(1), tz=unit.group(2))
    try:
        return pa.type_for_alias(name)
    except ValueError:
        return None
