"""The lake's logical column types and their Arrow forms, shared by connectors, the lake and the catalog."""

from __future__ import annotations

import pyarrow as pa

from zhongtai.errors import ZhongtaiError
from zhongtai.spec.models import DECIMAL_TYPE, check_field_type

_ARROW = {
    "string": pa.string(),
    "int32": pa.int32(),
    "int64": pa.int64(),
    "float32": pa.float32(),
    "float64": pa.float64(),
    "bool": pa.bool_(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us"),
    "timestamp_tz": pa.timestamp("us", tz="UTC"),
    "binary": pa.binary(),
    "json": pa.string(),
}


def arrow_type(logical: str) -> pa.DataType:
    """Arrow type for a logical type name such as `int64` or `decimal(12,2)`."""
    check_field_type(logical)
    match = DECIMAL_TYPE.match(logical)
    if match:
        return pa.decimal128(int(match.group(1)), int(match.group(2)))
    return _ARROW[logical]


def logical_type(arrow: pa.DataType) -> str:
    """The logical name of an Arrow type; nested and unusual types keep Arrow's own spelling."""
    if pa.types.is_string(arrow) or pa.types.is_large_string(arrow):
        return "string"
    if pa.types.is_timestamp(arrow):
        return "timestamp_tz" if arrow.tz else "timestamp"
    if pa.types.is_date(arrow):
        return "date"
    if pa.types.is_decimal(arrow):
        return f"decimal({arrow.precision},{arrow.scale})"
    if pa.types.is_boolean(arrow):
        return "bool"
    if pa.types.is_binary(arrow) or pa.types.is_large_binary(arrow):
        return "binary"
    for name in ("int32", "int64", "float32", "float64"):
        if arrow == _ARROW[name]:
            return name
    return str(arrow)


def cast_batch(batch: pa.RecordBatch, declared: dict[str, str], where: str) -> pa.RecordBatch:
    """Cast the declared columns of a batch; a value that does not fit is an error naming the column."""
    if not declared:
        return batch
    columns = []
    fields = []
    for field, column in zip(batch.schema, batch.columns, strict=True):
        wanted = declared.get(field.name)
        if wanted is not None and column.type != arrow_type(wanted):
            try:
                column = column.cast(arrow_type(wanted))
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise ZhongtaiError(
                    "schema_changed",
                    f"{where}: column '{field.name}' does not fit its declared type {wanted}: {exc}",
                    "fix the source data or the declared type in the spec",
                ) from None
        columns.append(column)
        fields.append(pa.field(field.name, column.type))
    return pa.RecordBatch.from_arrays(columns, schema=pa.schema(fields))
