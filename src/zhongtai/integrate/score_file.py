"""Batch scores to a file (`zhongtai score ... --out FILE`): Parquet or CSV by the file's suffix, with the
same run columns a write-back adds. The file is written beside its final name and renamed into place, so a
reader never sees half a file and a failed run leaves the old one."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import pyarrow as pa

from zhongtai.capabilities.batch import BatchScores
from zhongtai.errors import ZhongtaiError
from zhongtai.integrate.writeback import run_columns

FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv"}


def file_format(path: Path) -> str:
    """The format a path's suffix names; another suffix or a missing folder is an error naming it."""
    found = FORMATS.get(path.suffix.lower())
    if found is None:
        raise ZhongtaiError(
            "invalid_argument",
            f"--out {path}: write .parquet or .csv files",
            f"name the file {path.with_suffix('.parquet').name}",
        )
    if not path.parent.is_dir():
        raise ZhongtaiError("invalid_argument", f"--out {path}: folder {path.parent} does not exist")
    return found


def write_file(scores: BatchScores, path: Path, run_id: str, scored_at: datetime) -> int:
    """Write the scores with their run columns to `path` atomically; returns the rows written."""
    kind = file_format(path)
    table = scores.table
    for name, value in run_columns(scores, run_id, scored_at).items():
        table = table.append_column(name, pa.array([value] * table.num_rows))
    partial = path.with_name(f".{path.name}.partial")
    try:
        if kind == "parquet":
            import pyarrow.parquet as pq

            pq.write_table(table, partial)
        else:
            import pyarrow.csv as pcsv

            pcsv.write_csv(table, partial)
        os.replace(partial, path)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise ZhongtaiError("invalid_argument", f"--out {path}: {exc.strerror or exc}") from None
    return table.num_rows
