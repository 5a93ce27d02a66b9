"""Point-in-time correct training sets: no leak from the future, TTL respected, no label row lost."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zhongtai.errors import ZhongtaiError
from zhongtai.features.offline import build_view
from zhongtai.features.training import build_training_set, point_in_time_join
from zhongtai.lake.offline.duckdb import DuckDBEngine
from zhongtai.meta.records import FeatureBuild
from zhongtai.spec.models import FeatureSpec, FeatureViewSpec

from .conftest import LABELS, SPECS

T = dt.datetime


def _rows_by_label_time(table: pa.Table) -> dict[tuple[int, dt.datetime], dict]:
    return {(r["customer_id"], r["ts"]): r for r in table.to_pylist()}


@pytest.mark.integration
def test_training_set_is_point_in_time_correct(shop):
    build_view(shop.store, shop.lake, "spend")
    build_view(shop.store, shop.lake, "profile")
    training, table = build_training_set(shop.store, shop.lake, "churn_model")
    assert table.column_names == ["customer_id", "ts", "label", "last_amount", "orders_so_far", "tier"]
    assert table.num_rows == training.rows == len(LABELS)  # no label row lost
    rows = _rows_by_label_time(table)

    # Leak: asked before customer 1's first order, so no spend yet, never the later value.
    assert rows[(1, T(2024, 1, 4))] | {"tier": None} == {
        "customer_id": 1,
        "ts": T(2024, 1, 4),
        "label": 0,
        "last_amount": None,
        "orders_so_far": None,
        "tier": None,
    }
    assert rows[(1, T(2024, 1, 4))]["tier"] == "gold"
    assert (rows[(1, T(2024, 1, 6))]["last_amount"], rows[(1, T(2024, 1, 6))]["orders_so_far"]) == (10.0, 1)
    # TTL: the only order is 36 days old against a 30d TTL: NULL, and the row is still there.
    assert rows[(1, T(2024, 2, 10))]["last_amount"] is None
    assert rows[(1, T(2024, 2, 10))]["label"] == 1
    # An event at exactly the label's moment was known at that moment.
    assert rows[(1, T(2024, 2, 20, 12))]["orders_so_far"] == 2
    # Before sign-up: no profile. No features at all: the row stays with NULLs.
    assert rows[(3, T(2024, 1, 15))]["tier"] is None
    assert rows[(4, T(2024, 3, 1))] == {
        "customer_id": 4,
        "ts": T(2024, 3, 1),
        "label": 1,
        "last_amount": None,
        "orders_so_far": None,
        "tier": None,
    }
    # Sorted by label time, so the models module can split on time directly.
    assert table.column("ts").to_pylist() == sorted(table.column("ts").to_pylist())

    saved = pq.read_table(training.files)
    assert saved.num_rows == len(LABELS) and saved.column_names == table.column_names
    assert all("/_training_sets/" in f for f in training.files)
    assert shop.store.features.training_set(training.id).lineage == {
        "feature_views": {"spend": 1, "profile": 1},
        "datasets": {"churn": 1, "customers": 1, "orders": 1},
        "label_sql_sha256": training.lineage["label_sql_sha256"],
        "entity": "customer",
        "join_keys": ["customer_id"],
        "timestamp": "ts",
        "label": "label",
        "features": ["last_amount", "orders_so_far", "tier"],
    }
    assert len(training.lineage["label_sql_sha256"]) == 64


@pytest.mark.integration
def test_unbuilt_view_is_named(shop):
    build_view(shop.store, shop.lake, "spend")
    with pytest.raises(ZhongtaiError, match="feature view 'profile' has not been built"):
        build_training_set(shop.store, shop.lake, "churn_model")


@pytest.mark.integration
def test_label_sql_missing_the_label_is_named(shop):
    shop.apply(SPECS.replace("churned AS label", "churned"))
    build_view(shop.store, shop.lake, "spend")
    build_view(shop.store, shop.lake, "profile")
    with pytest.raises(
        ZhongtaiError, match=r"model 'churn_model' labels: the SQL's output lacks column\(s\) label"
    ):
        build_training_set(shop.store, shop.lake, "churn_model")


def _view(name: str, features: list[str], ttl: str = "10d") -> FeatureViewSpec:
    return FeatureViewSpec(
        name=name,
        entity="customer",
        ttl=ttl,
        sql="SELECT 1",
        features=[FeatureSpec(name=f) for f in features],
    )


def _build(tmp_path, name: str, table: pa.Table) -> FeatureBuild:
    path = tmp_path / f"{name}.parquet"
    pq.write_table(table, path)
    return FeatureBuild(name, 1, T(2024, 1, 1), table.num_rows, [str(path)], [], {}, None)


@pytest.mark.unit
def test_same_feature_in_two_views_names_both(tmp_path):
    history = pa.table({"customer_id": [1], "ts": [T(2024, 1, 1)], "score": [1.0]})
    engine = DuckDBEngine()
    views = [
        (_view("spend", ["score"]), _build(tmp_path, "a", history), ["customer_id"]),
        (_view("risk", ["score"]), _build(tmp_path, "b", history), ["customer_id"]),
    ]
    with pytest.raises(ZhongtaiError, match="feature 'score' is in both view 'spend' and view 'risk'"):
        point_in_time_join(engine, "SELECT 1 AS customer_id, TIMESTAMP '2024-01-02' AS ts, 0 AS label", views)


@pytest.mark.unit
@pytest.mark.parametrize("asof", [True, False], ids=["asof", "window"])
def test_labels_with_null_time_and_key_are_kept(tmp_path, asof):
    history = pa.table({"customer_id": [1], "ts": [T(2024, 1, 1)], "score": [1.0]})
    engine = DuckDBEngine()
    engine.asof_join = asof
    labels = pa.table(
        {"customer_id": [1, None, 1], "ts": [T(2024, 1, 2), T(2024, 1, 2), None], "label": [1, 0, 0]}
    )
    engine.register_arrow("labels", labels)
    out = point_in_time_join(
        engine,
        "SELECT * FROM labels",
        [(_view("v", ["score"]), _build(tmp_path, "v", history), ["customer_id"])],
    )
    assert sorted(out.to_pylist(), key=repr) == sorted(
        [
            {"customer_id": 1, "ts": T(2024, 1, 2), "label": 1, "score": 1.0},
            {"customer_id": None, "ts": T(2024, 1, 2), "label": 0, "score": None},
            {"customer_id": 1, "ts": None, "label": 0, "score": None},
        ],
        key=repr,
    )


# -- property: both join shapes equal a brute-force reference on random small data ------------------------

DAY = dt.timedelta(days=1)
BASE = T(2024, 1, 1)
moments = st.integers(min_value=0, max_value=60).map(lambda h: BASE + h * dt.timedelta(hours=12))


def _reference(labels: list[tuple], history: dict[tuple[int, dt.datetime], float], ttl: dt.timedelta) -> list:
    out = []
    for key, ts, label in labels:
        valid = [(fts, v) for (k, fts), v in history.items() if k == key and ts - ttl < fts <= ts]
        out.append((key, ts, label, max(valid)[1] if valid else None))
    return out


@pytest.mark.unit
@pytest.mark.parametrize("asof", [True, False], ids=["asof", "window"])
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    history=st.dictionaries(
        st.tuples(st.integers(1, 4), moments), st.floats(-100, 100, allow_nan=False), max_size=25
    ),
    labels=st.lists(st.tuples(st.integers(1, 5), moments, st.integers(0, 1)), max_size=25),
    ttl_days=st.integers(1, 10),
)
def test_join_matches_brute_force_reference(tmp_path, asof, history, labels, ttl_days):
    ttl = ttl_days * DAY
    table = pa.table(
        {
            "customer_id": pa.array([k for k, _ in history], pa.int64()),
            "ts": pa.array([t for _, t in history], pa.timestamp("us")),
            "x": pa.array(list(history.values()), pa.float64()),
        }
    )
    label_table = pa.table(
        {
            "customer_id": pa.array([k for k, _, _ in labels], pa.int64()),
            "ts": pa.array([t for _, t, _ in labels], pa.timestamp("us")),
            "label": pa.array([y for _, _, y in labels], pa.int64()),
        }
    )
    engine = DuckDBEngine()
    engine.asof_join = asof  # the window shape is what Spark runs; here it is checked on DuckDB
    engine.register_arrow("labels", label_table)
    view = (_view("v", ["x"], ttl=f"{ttl_days}d"), _build(tmp_path, "v", table), ["customer_id"])
    out = point_in_time_join(engine, "SELECT * FROM labels", [view])
    got = [(r["customer_id"], r["ts"], r["label"], r["x"]) for r in out.to_pylist()]
    assert len(got) == len(labels)
    for key, ts, _, x in got:  # every joined value was known at the label's moment and within the TTL
        if x is not None:
            assert any(k == key and ts - ttl < fts <= ts and v == x for (k, fts), v in history.items())
    assert sorted(got, key=repr) == sorted(_reference(labels, history, ttl), key=repr)


# -- property: several views, composite keys, nulls: no value from after the label or from beyond its TTL ---

ENTITIES = st.tuples(st.integers(1, 2), st.sampled_from(["a", "b"]))
HOUR = dt.timedelta(hours=1)


def _hours(moment: dt.datetime) -> float:
    return (moment - BASE) / HOUR


def _view_table(rows: dict[tuple[tuple[int, str], dt.datetime], int | None], prefix: str) -> pa.Table:
    """A view's history on composite keys; `<prefix>_at` holds the row's own event time (hours since BASE),
    so a joined value tells which row it came from; `<prefix>_flag` is another feature of that row (or null)."""
    keys = list(rows)
    return pa.table(
        {
            "store_id": pa.array([k[0][0] for k in keys], pa.int64()),
            "product_id": pa.array([k[0][1] for k in keys], pa.string()),
            "ts": pa.array([k[1] for k in keys], pa.timestamp("us")),
            f"{prefix}_at": pa.array([_hours(k[1]) for k in keys], pa.float64()),
            f"{prefix}_flag": pa.array(list(rows.values()), pa.int64()),
        }
    )


def _history_strategy():
    return st.dictionaries(st.tuples(ENTITIES, moments), st.one_of(st.none(), st.integers(0, 9)), max_size=20)


@pytest.mark.unit
@pytest.mark.parametrize("asof", [True, False], ids=["asof", "window"])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    first=_history_strategy(),
    second=_history_strategy(),
    labels=st.lists(st.tuples(ENTITIES, moments), max_size=20),
    ttls=st.tuples(st.integers(1, 10), st.integers(1, 10)),
)
def test_no_value_from_after_the_label_or_beyond_the_ttl_of_its_view(
    tmp_path, asof, first, second, labels, ttls
):
    keys = ["store_id", "product_id"]
    views = []
    for index, (history, prefix) in enumerate(((first, "p"), (second, "q"))):
        spec = _view(f"v{index}", [f"{prefix}_at", f"{prefix}_flag"], ttl=f"{ttls[index]}d")
        views.append((spec, _build(tmp_path, f"v{index}", _view_table(history, prefix)), keys))
    label_table = pa.table(
        {
            "store_id": pa.array([k[0] for k, _ in labels], pa.int64()),
            "product_id": pa.array([k[1] for k, _ in labels], pa.string()),
            "ts": pa.array([t for _, t in labels], pa.timestamp("us")),
        }
    )
    engine = DuckDBEngine()
    engine.asof_join = asof
    engine.register_arrow("labels", label_table)
    out = point_in_time_join(engine, "SELECT * FROM labels", views).to_pylist()
    assert len(out) == len(labels)  # no label row lost
    for row in out:
        entity, at = (row["store_id"], row["product_id"]), row["ts"]
        for (prefix, history), ttl_days in zip((("p", first), ("q", second)), ttls, strict=True):
            ttl = ttl_days * DAY
            valid = [fts for (k, fts) in history if k == entity and at - ttl < fts <= at]
            if not valid:
                assert (row[f"{prefix}_at"], row[f"{prefix}_flag"]) == (None, None)
                continue
            event = BASE + row[f"{prefix}_at"] * HOUR  # the event time of the row the values came from
            assert at - ttl < event <= at  # never later than the label, never older than the TTL
            assert event == max(valid)  # the newest such row
            assert row[f"{prefix}_flag"] == history[(entity, event)]  # both features from that same row
