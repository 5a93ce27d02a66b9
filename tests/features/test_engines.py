"""The same feature views and training set on DuckDB and on Spark: identical rows and values."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from zhongtai.features.offline import build_view
from zhongtai.features.training import build_training_set
from zhongtai.lake.offline import open_offline_engine

from .conftest import LABELS, make_shop

pytestmark = pytest.mark.integration


def _sorted(table: pa.Table, keys: list[str]) -> list[dict]:
    return table.sort_by([(k, "ascending") for k in keys]).to_pylist()


def test_spark_builds_and_joins_exactly_as_duckdb(tmp_path, spark_url):
    shop = make_shop(tmp_path, f"sqlite:///{tmp_path / 'metadata.db'}")
    shop.apply()
    shop.ingest_all()
    spark = open_offline_engine(spark_url, shop.lake)
    try:
        duck = {v: build_view(shop.store, shop.lake, v) for v in ("spend", "profile")}
        _, duck_set = build_training_set(shop.store, shop.lake, "churn_model")
        on_spark = {v: build_view(shop.store, shop.lake, v, engine=spark) for v in ("spend", "profile")}
        spark_training, spark_set = build_training_set(shop.store, shop.lake, "churn_model", engine=spark)
    finally:
        spark.close()
        shop.store.close()
        shop.source_db.dispose()
    for view in ("spend", "profile"):
        a, b = duck[view], on_spark[view]
        assert (b.build, b.rows, b.schema, b.inputs, b.max_timestamp) == (
            2,
            a.rows,
            a.schema,
            a.inputs,
            a.max_timestamp,
        )
        assert all("/_features/" in f and f.endswith(".parquet") for f in b.files)
        keys = ["customer_id", "ts"]
        assert _sorted(pq.read_table(b.files), keys) == _sorted(pq.read_table(a.files), keys)
    # The Spark training set used the Spark builds, kept every label row, and equals DuckDB's row for row.
    assert spark_training.lineage["feature_views"] == {"spend": 2, "profile": 2}
    assert spark_set.num_rows == len(LABELS)
    assert spark_set.schema == duck_set.schema
    assert spark_set.to_pylist() == duck_set.to_pylist()
    assert spark_set.column("last_amount").null_count > 0  # the TTL and the no-feature rows came back as NULL
