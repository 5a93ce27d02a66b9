"""Writing record batches into Parquet part files with bounded memory."""

from __future__ import annotations

from collections.abc import Iterable

import pyarrow as pa
import pyarrow.parquet as pq

from zhongtai.errors import ZhongtaiError
from zhongtai.lake.storage import LakeStorage

MAX_ROWS_PER_FILE = 2_000_000


class PartWriter:
    """Streams batches into `<folder>/<prefix>-NNNNN.parquet`, starting a new file every MAX_ROWS_PER_FILE rows.

    A column that has only been null so far has Arrow's null type; when real values arrive the writer starts a
    new file with the real type (readers unify by name), and later all-null batches are cast to it.
    """

    def __init__(self, storage: LakeStorage, folder: str, prefix: str, where: str) -> None:
        self.storage = storage
        self.folder = folder
        self.prefix = prefix
        self.where = where
        self.files: list[str] = []
        self.rows = 0
        self._writer: pq.ParquetWriter | None = None
        self._schema: pa.Schema | None = None
        self._file_rows = 0
        storage.makedirs(folder)

    def write(self, batch: pa.RecordBatch) -> None:
        if batch.num_rows == 0:
            return
        batch = self._conform(batch)
        if self._writer is None or self._file_rows >= MAX_ROWS_PER_FILE:
            self._open(batch.schema)
        self._writer.write_batch(batch)  # type: ignore[union-attr]
        self._file_rows += batch.num_rows
        self.rows += batch.num_rows

    def write_all(self, batches: Iterable[pa.RecordBatch]) -> None:
        for batch in batches:
            self.write(batch)

    def write_empty(self, schema: pa.Schema) -> None:
        """An empty source still gives a version: one file with the schema and no rows."""
        self._open(schema)

    def close(self) -> list[str]:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        return self.files

    def _open(self, schema: pa.Schema) -> None:
        self.close()
        path = f"{self.folder}/{self.prefix}-{len(self.files):05d}.parquet"
        self._writer = pq.ParquetWriter(path, schema, filesystem=self.storage.arrow_fs(), compression="zstd")
        self._schema = schema
        self._file_rows = 0
        self.files.append(path)

    def _conform(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """Make the batch fit the open file, or decide that it needs a file of its own."""
        if self._schema is None or batch.schema.equals(self._schema):
            return batch
        if set(batch.schema.names) != set(self._schema.names):
            self._file_rows = MAX_ROWS_PER_FILE  # new columns appeared: they go to a new file
            return batch
        arrays = []
        upgrade = False
        for field in self._schema:
            column = batch.column(field.name)
            if column.type == field.type:
                arrays.append(column)
            elif pa.types.is_null(column.type):
                arrays.append(pa.nulls(len(column), field.type))
            elif pa.types.is_null(field.type):
                upgrade = True
                arrays.append(column)
            else:
                raise ZhongtaiError(
                    "schema_changed",
                    f"{self.where}: column '{field.name}' changed type mid-read from {field.type} to {column.type}",
                    "declare the column's type in the dataset's fields, or fix the source",
                )
        if upgrade:
            self._file_rows = MAX_ROWS_PER_FILE
        names = self._schema.names
        return pa.RecordBatch.from_arrays(arrays, names=names)
