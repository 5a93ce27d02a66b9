"""Comparing a new read's schema with the current version's: type changes are reported, never coerced."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from zhongtai.connect.types import logical_type
from zhongtai.meta.records import ColumnInfo


@dataclass(frozen=True)
class SchemaChange:
    column: str
    kind: str  # added | removed | type | storage (PII: clear, token, encrypted, or another key)
    old: str | None
    new: str | None

    @property
    def breaking(self) -> bool:
        return self.kind != "added"

    def __str__(self) -> str:
        if self.kind == "added":
            return f"column '{self.column}' added ({self.new})"
        if self.kind == "removed":
            return f"column '{self.column}' removed (was {self.old})"
        if self.kind == "storage":
            return f"column '{self.column}' changed storage from {self.old} to {self.new}"
        return f"column '{self.column}' changed type from {self.old} to {self.new}"


def columns_of(schema: pa.Schema) -> list[ColumnInfo]:
    return [ColumnInfo(f.name, logical_type(f.type), f.nullable) for f in schema]


def compare(old: list[ColumnInfo], new: list[ColumnInfo]) -> list[SchemaChange]:
    """Changes from `old` to `new`. A column typed `null` (no value seen yet) is compatible with any type."""
    before = {c.name: c.type for c in old}
    after = {c.name: c.type for c in new}
    changes = []
    for name, new_type in after.items():
        old_type = before.get(name)
        if old_type is None:
            changes.append(SchemaChange(name, "added", None, new_type))
        elif old_type != new_type and "null" not in (old_type, new_type):
            changes.append(SchemaChange(name, "type", old_type, new_type))
    changes.extend(SchemaChange(name, "removed", t, None) for name, t in before.items() if name not in after)
    stored = {c.name: _storage(c) for c in old}
    for column in new:
        was = stored.get(column.name)
        if was is not None and was != _storage(column):
            changes.append(SchemaChange(column.name, "storage", was, _storage(column)))
    return changes


def _storage(column: ColumnInfo) -> str:
    """How a column's values are stored, with the PII key for protected ones (a new key: new tokens)."""
    storage = column.storage or "clear"
    return storage if storage == "clear" else f"{storage} (key {column.key_id})"


def merged(old: list[ColumnInfo], new: list[ColumnInfo]) -> list[ColumnInfo]:
    """The schema of a version made of old and new files: new types win where the old only knew null."""
    by_name = {c.name: c for c in old}
    out = []
    for column in new:
        previous = by_name.pop(column.name, None)
        if column.type == "null" and previous is not None:
            column = previous
        out.append(column)
    return out + list(by_name.values())
