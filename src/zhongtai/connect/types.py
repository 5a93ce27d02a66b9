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


def cast_batch(
    batch: pa.RecordBatch, declared: dict[str, str], where: str, first_record: int | None = None
) -> pa.RecordBatch:
    """Cast the declared columns of a batch; a value that does not fit is an error naming the column (and
    its record, given the number of the batch's first record in what `where` names), never the value."""
    if not declared:
        return batch
    columns = []
    fields = []
    for field, column in zip(batch.schema, batch.columns, strict=True):
        wanted = declared.get(field.name)
        if wanted is not None and column.type != arrow_type(wanted):
            try:
                column = column.cast(arrow_type(wanted))
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                row = _first_misfit(column, arrow_type(wanted)) if first_record is not None else None
                at = f" record {first_record + row}" if first_record is not None and row is not None else ""
                raise ZhongtaiError(
                    "schema_changed",
                    f"{where}{at}: column '{field.name}' holds a value that does not fit its declared type "
                    f"{wanted}",
                    "fix the source data or the declared type in the spec",
                ) from None
        columns.append(column)
        fields.append(pa.field(field.name, column.type))
    return pa.RecordBatch.from_arrays(columns, schema=pa.schema(fields))


def _first_misfit(column: pa.Array, arrow: pa.DataType) -> int | None:
    """The index of the first value that does not cast (halving the array: only on the error path)."""
    low, high = 0, len(column)
    if not _casts(column, arrow):
        while high - low > 1:
            middle = (low + high) // 2
            if _casts(column.slice(low, middle - low), arrow):
                low = middle
            else:
                high = middle
        return low
    return None


def _casts(column: pa.Array, arrow: pa.DataType) -> bool:
    try:
        column.cast(arrow)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return False
    return True
