"""Arrow columns from the simulation's numpy arrays: exact money, timestamps and dates, zero-padded ids.

Every system builds its tables with these, so the SQL homes and the files agree on types and formats.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa

MONEY = pa.decimal128(12, 2)


def money(cents: np.ndarray) -> pa.Array:
    """decimal(12,2) from integer cents, exactly (the unscaled decimal value is the cent count)."""
    values = np.asarray(cents, dtype=np.int64)
    wide = np.empty((len(values), 2), dtype=np.int64)
    wide[:, 0] = values
    wide[:, 1] = values >> 63  # sign extension into the high half of the 128-bit integer
    return pa.Array.from_buffers(MONEY, len(values), [None, pa.py_buffer(wide.tobytes())])


def timestamps(seconds: np.ndarray) -> pa.Array:
    """Naive local timestamps (second precision) from seconds since the epoch."""
    return pa.array(np.asarray(seconds, dtype=np.int64), type=pa.timestamp("s"))


def dates(day_index: np.ndarray, start: np.datetime64) -> pa.Array:
    """Dates from window day indexes (negative: before the window)."""
    return pa.array(start.astype("datetime64[D]") + np.asarray(day_index, dtype=np.int64))


def optional(values: np.ndarray, present: np.ndarray) -> pa.Array:
    """The values where `present`, null elsewhere."""
    return pa.array(values, mask=~np.asarray(present, dtype=bool))


def codes(prefix: str, numbers: np.ndarray, width: int) -> list[str]:
    """Identifiers such as U00001234: a prefix and a zero-padded number."""
    return [f"{prefix}{n:0{width}d}" for n in np.asarray(numbers).tolist()]


def pick(values: Sequence[str], index: np.ndarray) -> list[str]:
    """values[index] for a list of strings."""
    return [values[k] for k in np.asarray(index).tolist()]
