"""Timestamps as the metadata store keeps them: always UTC, always timezone-aware."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import overload


def now() -> datetime:
    return datetime.now(UTC)


@overload
def aware(value: datetime) -> datetime: ...


@overload
def aware(value: None) -> None: ...


def aware(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything we store is UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)
