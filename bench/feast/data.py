"""The shared data of the feature-store benchmark, and the hand-written DuckDB ASOF JOIN it is checked against.

Pure numpy/pyarrow (DuckDB only inside `asof_join_duckdb`), so the project imports it without Feast, and the
Feast environment (bench/.venv-feast) imports it too: both sides of the benchmark read the same Parquet files.

- history.parquet: `entities` × `times` rows of (entity_id int64, event_timestamp timestamp[us, UTC], f0..f7
  float64), event times drawn uniformly over a window of `window_days`.
- labels.parquet: `labels` rows of (label_id, entity_id, event_timestamp). Most fall inside the window, so
  the latest history row before them is usually inside the TTL; a share (`outside_ttl_share`, default 2%)
  are placed more than the TTL after the window's end, so no history row is inside their TTL and a correct
  engine returns them with null features. Some in-window labels also have no row inside the TTL by chance.

    python bench/feast/data.py --out bench/.data/feature_store --entities 1000 --times 10 --labels 10000
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

FEATURES = tuple(f"f{i}" for i in range(8))
WINDOW_START = datetime(2026, 1, 1, tzinfo=UTC)
TTL = timedelta(days=30)


@dataclass(frozen=True)
class BenchData:
    """Where the generated files are and what was asked for."""

    folder: Path
    history: Path
    labels: Path
    entities: int
    times: int
    labels_count: int
    window_start: datetime
    window_end: datetime
    ttl: timedelta


def generate(
    folder: Path,
    entities: int = 100_000,
    times: int = 10,
    labels: int = 1_000_000,
    window_days: int = 90,
    outside_ttl_share: float = 0.02,
    ttl: timedelta = TTL,
    seed: int = 20261122,
) -> BenchData:
    """Write history.parquet and labels.parquet into `folder` (made if missing); the same arguments always
    give the same bytes of data."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    start_us = int(WINDOW_START.timestamp() * 1_000_000)
    window_us = window_days * 86_400 * 1_000_000
    ttl_us = int(ttl.total_seconds() * 1_000_000)

    entity_ids = np.repeat(np.arange(entities, dtype=np.int64), times)
    history_ts = start_us + rng.integers(0, window_us, size=entities * times, dtype=np.int64)
    columns: dict[str, Any] = {
        "entity_id": entity_ids,
        "event_timestamp": pa.array(history_ts, type=pa.timestamp("us", tz="UTC")),
    }
    for name in FEATURES:
        columns[name] = rng.standard_normal(entities * times)
    history = pa.table(columns)

    label_entities = rng.integers(0, entities, size=labels, dtype=np.int64)
    label_ts = start_us + rng.integers(0, window_us, size=labels, dtype=np.int64)
    outside = rng.random(labels) < outside_ttl_share
    # Past the window's end by more than the TTL: no history row can be inside their TTL.
    label_ts[outside] = (
        start_us
        + window_us
        + ttl_us
        + rng.integers(1, 86_400_000_000, size=int(outside.sum()), dtype=np.int64)
    )
    label_table = pa.table(
        {
            "label_id": np.arange(labels, dtype=np.int64),
            "entity_id": label_entities,
            "event_timestamp": pa.array(label_ts, type=pa.timestamp("us", tz="UTC")),
        }
    )
    history_path, labels_path = folder / "history.parquet", folder / "labels.parquet"
    pq.write_table(history, history_path)
    pq.write_table(label_table, labels_path)
    return BenchData(
        folder=folder,
        history=history_path,
        labels=labels_path,
        entities=entities,
        times=times,
        labels_count=labels,
        window_start=WINDOW_START,
        window_end=WINDOW_START + timedelta(days=window_days),
        ttl=ttl,
    )


def _sql_string(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def asof_join_duckdb(history: Path, labels: Path, ttl: timedelta = TTL) -> Any:
    """Point-in-time join by hand: for every label, the latest history row of its entity at or before the
    label's time, its features null when that row is older than the TTL (or there is none). One output row
    per label, in label_id order, as a pyarrow Table (label_id, entity_id, event_timestamp, f0..f7)."""
    import duckdb

    ttl_seconds = int(ttl.total_seconds())
    features = ", ".join(
        f"CASE WHEN h.event_timestamp >= l.event_timestamp - INTERVAL {ttl_seconds} SECOND "
        f"THEN h.{name} END AS {name}"
        for name in FEATURES
    )
    sql = f"""
        SELECT l.label_id, l.entity_id, l.event_timestamp, {features}
        FROM read_parquet({_sql_string(labels)}) AS l
        ASOF LEFT JOIN read_parquet({_sql_string(history)}) AS h
          ON l.entity_id = h.entity_id AND l.event_timestamp >= h.event_timestamp
        ORDER BY l.label_id
    """
    with duckdb.connect() as con:
        con.execute("SET TimeZone = 'UTC'")
        return con.sql(sql).to_arrow_table()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--entities", type=int, default=100_000)
    parser.add_argument("--times", type=int, default=10)
    parser.add_argument("--labels", type=int, default=1_000_000)
    args = parser.parse_args()
    data = generate(args.out, args.entities, args.times, args.labels)
    started = time.perf_counter()
    joined = asof_join_duckdb(data.history, data.labels, data.ttl)
    seconds = time.perf_counter() - started
    nulls = joined.column("f0").null_count
    print(
        json.dumps({"asof_duckdb_s": round(seconds, 3), "rows": joined.num_rows, "rows_without_value": nulls})
    )


if __name__ == "__main__":
    main()
