"""Encrypted copies read back for the reader: a field stored `encrypted` holds a token and keeps an AES-GCM
copy in `<field>__encrypted` (govern/protection.py). A preview or an export shows the field from its copy,
decrypted in memory, and then masks it by role like any clear value (govern/masking.py): a principal with
`see_pii:CLASS` sees the value, everyone else its mask (`138****5678`). The copy column itself never leaves
the platform, and a field stored as a token alone stays a token for everyone.
"""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa

from zhongtai.govern.encryption import decrypt_array
from zhongtai.govern.keys import PiiKeys
from zhongtai.govern.protection import ENCRYPTED_SUFFIX


def has_copies(names: list[str]) -> bool:
    """Whether a schema holds any encrypted copy."""
    return any(name.endswith(ENCRYPTED_SUFFIX) for name in names)


def open_table(table: pa.Table, keys: Callable[[], PiiKeys]) -> pa.Table:
    """The table with each field that has an encrypted copy holding its decrypted value, the copies dropped;
    `keys` is called only when there is a copy to open."""
    if not has_copies(table.column_names):
        return table
    return pa.Table.from_batches(
        [open_batch(b, keys) for b in table.to_batches()], _opened_schema(table.schema)
    )


def open_batch(batch: pa.RecordBatch, keys: Callable[[], PiiKeys]) -> pa.RecordBatch:
    """`open_table` for one record batch (an export streams them)."""
    names = batch.schema.names
    if not has_copies(names):
        return batch
    loaded = keys()
    columns = dict(zip(names, batch.columns, strict=True))
    out_names, arrays = [], []
    for name in names:
        if name.endswith(ENCRYPTED_SUFFIX):
            continue
        copy = columns.get(name + ENCRYPTED_SUFFIX)
        out_names.append(name)
        arrays.append(columns[name] if copy is None else decrypt_array(copy, loaded))
    return pa.RecordBatch.from_arrays(arrays, names=out_names)


def _opened_schema(schema: pa.Schema) -> pa.Schema:
    names = set(schema.names)
    return pa.schema(
        [
            pa.field(f.name, pa.string()) if f.name + ENCRYPTED_SUFFIX in names else f
            for f in schema
            if not f.name.endswith(ENCRYPTED_SUFFIX)
        ]
    )
