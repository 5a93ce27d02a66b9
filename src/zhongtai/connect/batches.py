"""What every connector that infers types shares: `SchemaTracker` keeps one schema across batches, files
and pages; `keep_since` filters rows on the watermark client side; `slices` bounds batch sizes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from zhongtai.connect.types import arrow_type
from zhongtai.errors import ZhongtaiError
from zhongtai.spec.secrets import resolve

TYPE_HINT = (
    "the first rows read decide a column's type: declare the type in the dataset's fields, or fix the data"
)


def resolve_for(source: str, value: str, environ: Mapping[str, str] | None) -> str:
    """`resolve`, with the source named in the error."""
    try:
        return resolve(value, environ)
    except ZhongtaiError as exc:
        raise ZhongtaiError(exc.code, f"source '{source}': {exc.message}", exc.hint) from None


def schema_changed(message: str) -> ZhongtaiError:
    """The error for data whose column types differ from what was seen before."""
    return ZhongtaiError("schema_changed", message, TYPE_HINT)


def without_values(text: str) -> str:
    """An error text from pyarrow, DuckDB or a driver with the values it quotes taken out.

    Such texts quote the value that failed (`invalid value '1101...'`, `Could not convert string '...'`)
    or the whole row (`Expected 3 columns, got 4: 1,张三,138...`); any of them may be personal data.
    """
    text = re.sub(r"(got \d+): .*", r"\1", text, flags=re.DOTALL)
    text = re.sub(r"'[^']*'|\"[^\"]*\"", "<value>", text)
    return re.sub(r"\bconvert \S+ with type", "convert <value> with type", text)


def has_null(arrow: pa.DataType) -> bool:
    if pa.types.is_null(arrow):
        return True
    return any(has_null(arrow.field(i).type) for i in range(arrow.num_fields))


class SchemaTracker:
    """The schema of one read: set by the first batch, refined only where a column was all null so far.

    A column whose type differs later is a `schema_changed` error naming where; nothing is coerced. Batches
    yielded before a null column met its first value keep `pa.null()` there; every later batch has the type.
    """

    def __init__(self, where: str, fill_missing: bool = False) -> None:
        self.where = where
        self.fill_missing = fill_missing
        self.schema: pa.Schema | None = None

    def has_nulls(self) -> bool:
        """True while some column (or nested field) has not yet shown a value."""
        return self.schema is not None and any(has_null(field.type) for field in self.schema)

    def conform(self, batch: pa.RecordBatch, origin: str) -> pa.RecordBatch:
        """The batch in the schema seen so far; `origin` (file, page...) is named in errors."""
        if self.schema is None:
            self.schema = pa.schema([pa.field(f.name, f.type) for f in batch.schema])
            return batch
        names = batch.schema.names
        new = [name for name in names if name not in self.schema.names]
        if new:
            raise schema_changed(f"{origin}: new column(s) {', '.join(new)} not in the earlier data")
        missing = [name for name in self.schema.names if name not in names]
        if missing and not self.fill_missing:
            raise schema_changed(f"{origin}: column(s) {', '.join(missing)} missing, unlike the earlier data")
        arrays, fields = [], []
        for field in self.schema:
            present = field.name in names
            column = batch.column(field.name) if present else pa.nulls(batch.num_rows, field.type)
            wanted = self._merged(field, column.type, origin)
            if column.type != wanted:
                try:
                    column = column.cast(wanted)
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                    raise self._changed(field, column.type, origin) from None
            arrays.append(column)
            fields.append(pa.field(field.name, wanted))
        self.schema = pa.schema(fields)
        return pa.RecordBatch.from_arrays(arrays, schema=self.schema)

    def _merged(self, known: pa.Field, new: pa.DataType, origin: str) -> pa.DataType:
        if new == known.type or (pa.types.is_decimal(new) and pa.types.is_decimal(known.type)):
            return known.type  # decimals of another precision are cast, which fails if a value would not fit
        pair = [pa.schema([known]), pa.schema([pa.field(known.name, new)])]
        try:
            unified = pa.unify_schemas(pair, promote_options="default").field(0).type
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            raise self._changed(known, new, origin) from None
        if unified != known.type and not has_null(known.type):
            raise self._changed(known, new, origin)
        return unified

    @staticmethod
    def _changed(known: pa.Field, new: pa.DataType, origin: str) -> ZhongtaiError:
        return schema_changed(f"{origin}: column '{known.name}' was {known.type} and is now {new}")


def with_declared(batch: pa.RecordBatch, declared: dict[str, str]) -> pa.RecordBatch:
    """Add declared columns the batch lacks, as typed nulls, so records that omit a key keep its column."""
    for name, logical in declared.items():
        if name not in batch.schema.names:
            batch = batch.append_column(name, pa.nulls(batch.num_rows, arrow_type(logical)))
    return batch


def keep_since(batch: pa.RecordBatch, watermark: str, since: Any, where: str) -> pa.RecordBatch:
    """Rows whose watermark is at or after `since`; ISO timestamp strings are compared as instants."""
    if watermark not in batch.schema.names:
        raise ZhongtaiError(
            "invalid_spec",
            f"{where}: watermark column '{watermark}' is not in the data (columns: {', '.join(batch.schema.names)})",
        )
    values = batch.column(watermark)
    if pa.types.is_null(values.type):
        return batch.slice(0, 0)
    if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
        values = _as_instants(values)
    bound = _bound(since.as_py() if isinstance(since, pa.Scalar) else since, values.type, where)
    return batch.filter(pc.greater_equal(values, bound))


def _bound(since: Any, arrow: pa.DataType, where: str) -> pa.Scalar:
    """`since` as a scalar of the watermark's type; a naive text timestamp is taken as UTC."""
    try:
        return pa.scalar(since, type=arrow)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        pass
    text = pa.scalar(str(since))
    routes = [[arrow]]
    if pa.types.is_timestamp(arrow):
        routes += [[pa.timestamp(arrow.unit), arrow], [pa.timestamp(arrow.unit, tz="UTC"), arrow]]
    for route in routes:
        try:
            value = text
            for step in route:
                value = value.cast(step)
            return value
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
    raise ZhongtaiError("invalid_argument", f"{where}: since value {since!r} cannot be compared with {arrow}")


def _as_instants(values: pa.Array) -> pa.Array:
    for target in (pa.timestamp("us", tz="UTC"), pa.timestamp("us")):
        try:
            return values.cast(target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
    return values  # not timestamps: plain string order


def slices(batch: pa.RecordBatch, rows: int) -> Iterator[pa.RecordBatch]:
    """The batch cut into non-empty pieces of at most `rows` rows."""
    for offset in range(0, batch.num_rows, rows):
        yield batch.slice(offset, rows)
