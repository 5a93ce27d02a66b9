"""The Feast half of the assembled stack of bench/decide.py: a repo over the demo's feature values.

Runs in bench/.venv-feast (Feast 0.67, made by bench/feast/setup.sh), never in the project's environment.
FEATURES.parquet holds `customer_id` (int64), `event_timestamp` and the model's features as f0..fN
(float64), written by the bench from the same online values Zhongtai serves. The repo gets one entity
(`customer_id`), one feature view `churn` with those columns, a SQLite online store, and is materialized;
`feast -c REPO serve` then answers `POST /get-online-features`.

    python feast_repo.py REPO FEATURES.parquet
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq


def main() -> None:
    """Write feature_store.yaml, apply the definitions, materialize every row to the online store."""
    from feast import Entity, FeatureStore, FeatureView, Field, FileSource, ValueType
    from feast.types import Float64, Int64

    repo, data = Path(sys.argv[1]), Path(sys.argv[2]).resolve()
    repo.mkdir(parents=True, exist_ok=True)
    (repo / "feature_store.yaml").write_text(
        f"project: zt_bench_decide\nregistry: {repo / 'registry.db'}\nprovider: local\n"
        f"offline_store:\n  type: file\nonline_store:\n  type: sqlite\n  path: {repo / 'online.db'}\n"
        "entity_key_serialization_version: 3\n"
    )
    columns = [c for c in pq.read_schema(data).names if c.startswith("f")]
    store = FeatureStore(repo_path=str(repo))
    entity = Entity(name="customer", join_keys=["customer_id"], value_type=ValueType.INT64)
    source = FileSource(name="churn_source", path=str(data), timestamp_field="event_timestamp")
    schema = [Field(name="customer_id", dtype=Int64), *(Field(name=c, dtype=Float64) for c in columns)]
    view = FeatureView(
        name="churn", entities=[entity], ttl=timedelta(days=3650), schema=schema, source=source, online=True
    )
    store.apply([entity, view])
    now = datetime.now(UTC)
    store.materialize(now - timedelta(days=3650), now + timedelta(days=1))
    print(f"materialized {pq.read_metadata(data).num_rows} customers x {len(columns)} features")


if __name__ == "__main__":
    main()
