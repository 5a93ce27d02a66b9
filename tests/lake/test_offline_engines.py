"""The offline engine protocol: every backend implements all of it, the registry picks by ZT_OFFLINE_ENGINE."""

from __future__ import annotations

import inspect

import pytest

from zhongtai.errors import ZhongtaiError
from zhongtai.lake.offline import OfflineEngine, ResolutionEngine, open_offline_engine
from zhongtai.lake.offline.duckdb import DuckDBEngine
from zhongtai.lake.offline.spark import SparkEngine, master_of, to_spark_sql
from zhongtai.lake.storage import LakeStorage

pytestmark = pytest.mark.unit


def _members(protocol: type) -> dict[str, inspect.Signature | None]:
    found: dict[str, inspect.Signature | None] = {}
    for klass in protocol.__mro__:
        if klass in (object,) or not getattr(klass, "_is_protocol", False):
            continue
        for name, value in vars(klass).items():
            if name.startswith("_"):
                continue
            found.setdefault(name, inspect.signature(value) if callable(value) else None)
        for name in getattr(klass, "__annotations__", {}):
            found.setdefault(name, None)
    return found


@pytest.mark.parametrize("backend", [DuckDBEngine, SparkEngine])
def test_every_backend_implements_the_whole_protocol(backend):
    members = _members(ResolutionEngine)
    assert {"register", "columns", "write_parquet", "map_arrow", "splink_api", "asof_join"} <= set(members)
    for name, signature in members.items():
        assert hasattr(backend, name), f"{backend.__name__} lacks {name}"
        if signature is not None:
            implemented = inspect.signature(getattr(backend, name))
            assert list(implemented.parameters) == list(signature.parameters), f"{backend.__name__}.{name}"


def test_duckdb_is_the_default_and_satisfies_both_protocols(tmp_path):
    engine = open_offline_engine("duckdb", LakeStorage(str(tmp_path)))
    try:
        assert isinstance(engine, DuckDBEngine)
        assert isinstance(engine, OfflineEngine) and isinstance(engine, ResolutionEngine)
        assert engine.asof_join is True
    finally:
        engine.close()


def test_unknown_engine_is_named(tmp_path):
    with pytest.raises(
        ZhongtaiError, match="offline engine 'flink://x' \\(ZT_OFFLINE_ENGINE\\): unknown engine"
    ):
        open_offline_engine("flink://x", LakeStorage(str(tmp_path)))


def test_spark_master_forms():
    assert master_of("spark://local[2]") == "local[2]"
    assert master_of("spark://local[*]") == "local[*]"
    assert master_of("spark://10.0.0.5:7077") == "spark://10.0.0.5:7077"
    assert master_of("spark://yarn") == "yarn"
    assert master_of("spark://k8s://https://api:6443") == "k8s://https://api:6443"
    with pytest.raises(ZhongtaiError, match="names no Spark master"):
        master_of("spark://")


def test_duckdb_sql_becomes_spark_sql():
    sql = to_spark_sql(
        "SELECT timezone('UTC', \"at\") AS at, CAST(hash(a, b) AS VARCHAR) AS h, CAST(x AS TIMESTAMP) AS t FROM t"
    )
    assert "CAST(`at` AS TIMESTAMP_NTZ) AS at" in sql
    assert "XXHASH64(a, b, CONCAT(CASE WHEN (a) IS NULL THEN '1' ELSE '0' END, " in sql
    assert "CAST(x AS TIMESTAMP_NTZ) AS t" in sql
    with pytest.raises(ZhongtaiError, match="SQL does not parse"):
        to_spark_sql("SELECT FROM WHERE (")
