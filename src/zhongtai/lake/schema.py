"""Comparing a new read's schema with the current version's: type changes are reported, never coerced."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from zhongtai.connect.types import logical_type
from zhongtai.meta.records import ColumnInfo


@dataclass(frozen=True)
class SchemaChange:
    column: str
    kind: str  # added | removed | type
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
    return changes


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
