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
            for batch in _file_batches(fs, path, file_format, dataset, tracker.schema, origin):
                batch = cast_batch(batch, declared, origin)
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
    names: list[str] = []
    try:
        with fs.open(path, "rb", compression="infer" if file_format != "parquet" else None) as handle:
            if file_format == "parquet":
                yield from pq.ParquetFile(handle).iter_batches(batch_size=dataset.batch_rows)
            elif file_format == "csv":
                reader = _open_csv(handle, dataset, known)
                names = reader.schema.names
                yield from reader
            else:
                yield from pa_json.open_json(handle, read_options=pa_json.ReadOptions(block_size=BLOCK_BYTES))
    except pa.ArrowInvalid as exc:
        if str(exc).startswith(("Empty CSV file", "Empty JSON")):
            return
        if file_format == "csv" and not names:
            names = _csv_header(fs, path, dataset)
        raise _read_error(exc, origin, names) from None
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise SourceError(f"{origin}: cannot read: {exc}") from None


def _open_csv(handle: Any, dataset: DatasetSpec, known: pa.Schema | None) -> pa_csv.CSVStreamingReader:
    options = dataset.csv or CsvOptions()
    # Types seen in earlier files are kept, so a file of only digits in a text column still reads as text.
    column_types = {f.name: f.type for f in known or [] if not has_null(f.type)}
    column_types.update({name: arrow_type(logical) for name, logical in dataset.declared_types().items()})
    column_names = [f.name for f in dataset.fields] if not options.header and dataset.fields else None
    return pa_csv.open_csv(
        handle,
        read_options=pa_csv.ReadOptions(
            block_size=BLOCK_BYTES,
            encoding=options.encoding,
            column_names=column_names,
            autogenerate_column_names=not options.header and column_names is None,
        ),
        parse_options=pa_csv.ParseOptions(delimiter=options.delimiter),
        convert_options=pa_csv.ConvertOptions(column_types=column_types),
    )


def _csv_header(fs: fsspec.AbstractFileSystem, path: str, dataset: DatasetSpec) -> list[str]:
    """Column names for an error raised before pyarrow reported them."""
    options = dataset.csv or CsvOptions()
    if not options.header:
        return [f.name for f in dataset.fields]
    try:
        with fs.open(path, "rt", compression="infer", encoding=options.encoding, newline="") as handle:
            return next(csv.reader(handle, delimiter=options.delimiter), [])
    except (OSError, UnicodeDecodeError, csv.Error):
        return []


def _read_error(exc: pa.ArrowInvalid, origin: str, names: list[str]) -> ZhongtaiError:
    """pyarrow's message, turned into one that names the column when the problem is a type."""
    text = str(exc).strip().splitlines()[0]
    csv_type = re.search(r"CSV column #(\d+): CSV conversion error to (.+?): invalid value '(.*)'", text)
    if csv_type:
        index = int(csv_type.group(1))
        column = names[index] if index < len(names) else f"#{index}"
        return schema_changed(
            f"{origin}: column '{column}' was {csv_type.group(2)} and now holds {csv_type.group(3)!r}"
        )
    json_type = re.search(r"Column\(/([^)]*)\) changed from (\w+) to (\w+)", text)
    if json_type:
        column, old, new = json_type.groups()
        return schema_changed(f"{origin}: column '{column}' was {old} and is now {new}")
    if "unexpected field" in text:
        return schema_changed(f"{origin}: a record holds a field that the file's first records do not")
    return SourceError(f"{origin}: cannot read: {text}")
