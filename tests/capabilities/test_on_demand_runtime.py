"""A capability whose model uses an on-demand feature and which asks for a feature group by name.

The decision's on-demand value must equal what a training set computes for the same stored values and request
field (DuckDB over the rows), and the model must score exactly that value.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from tests.capabilities.world import online_url
from zhongtai.capabilities.runtime import CapabilityRuntime
from zhongtai.errors import ZhongtaiError
from zhongtai.features.on_demand import add_to_training_set
from zhongtai.features.online.base import OnlineStore, open_online_store
from zhongtai.features.selection import select_features
from zhongtai.lake.storage import LakeStorage
from zhongtai.meta.store import MetadataStore
from zhongtai.models.artifacts import ARTIFACT_FORMAT, save_booster
from zhongtai.spec.plan import apply_plan, build_plan
from zhongtai.spec.project import load_project

pytestmark = pytest.mark.integration

SPECS = """\
entities:
  - {name: customer, join_keys: [customer_id]}
feature_views:
  - name: customer_activity
    entity: customer
    sql: SELECT customer_id, ts, orders_90d, spend_90d FROM orders_agg
    features:
      - {name: orders_90d, type: int64}
      - {name: spend_90d}
  - name: customer_service
    entity: customer
    sql: SELECT customer_id, ts, tickets_30d, complained FROM tickets_agg
    features:
      - {name: tickets_30d, type: int64}
      - {name: complained, type: bool}
on_demand_views:
  - name: basket
    entity: customer
    request: [{name: basket_value, description: value of the basket being checked out}]
    features:
      - name: basket_vs_average
        description: how far the basket is from the customer's average order
        expression: basket_value - customer_activity.spend_90d / nullif(customer_activity.orders_90d, 0)
feature_groups:
  - name: service_signals
    entity: customer
    features: [customer_service.*]
models:
  - name: basket_model
    entity: customer
    label: {sql: "SELECT customer_id, ts, label, basket_value FROM checkouts"}
    feature_views: [customer_activity, basket]
capabilities:
  - name: upsell
    model: basket_model
    input: customer_id
    decisions: [{decision: offer, min_score: 0.5}, {decision: none, min_score: 0.0}]
    fallback: {decision: none}
    feature_groups: [service_signals]
"""
FEATURES = ["orders_90d", "spend_90d", "basket_vs_average"]
ONLINE = {
    "1": {"customer_activity": {"orders_90d": 4, "spend_90d": 800.0}, "customer_service": {"tickets_30d": 2}},
    "2": {"customer_activity": {"orders_90d": 0, "spend_90d": 0.0}},  # no orders: the average is NULL
    "3": {"customer_service": {"tickets_30d": 0, "complained": False}},  # no activity at all
}


def _booster():
    import lightgbm

    rng = np.random.default_rng(3)
    x = np.column_stack([rng.poisson(3, 2000), rng.gamma(2, 150, 2000), rng.normal(0, 120, 2000)])
    y = (rng.random(2000) < 1 / (1 + np.exp(-x[:, 2] / 60))).astype(float)
    params = {"objective": "binary", "num_leaves": 8, "verbose": -1, "num_threads": 1, "seed": 3}
    return lightgbm.train(params, lightgbm.Dataset(x, label=y, feature_name=FEATURES), num_boost_round=20)


def register_upsell(tmp_path: Path) -> tuple[MetadataStore, LakeStorage, Any]:
    """Apply the specs, train and register the model as `champion`; returns the store, lake and booster."""
    (tmp_path / "project").mkdir()
    (tmp_path / "project" / "specs.yaml").write_text(SPECS)
    store = MetadataStore(f"sqlite:///{tmp_path / 'metadata.db'}")
    apply_plan(build_plan(load_project(tmp_path / "project"), store), store)
    storage = LakeStorage(str(tmp_path / "lake"))
    booster = _booster()
    artifact = save_booster(storage, "basket_model", booster)
    version = store.models.register("basket_model", artifact, ARTIFACT_FORMAT, FEATURES, {}, {}, None, "test")
    store.models.set_alias("basket_model", version.version, "champion")
    return store, storage, booster


def write_online(online: OnlineStore) -> None:
    for key, views in ONLINE.items():
        for view, values in views.items():
            online.write(view, [(key, values)])


@pytest.fixture(params=["sqlite", "redis"])
def upsell(request, tmp_path) -> Iterator[tuple[CapabilityRuntime, MetadataStore, object]]:
    store, storage, booster = register_upsell(tmp_path)
    with online_url(request.param, tmp_path) as url:
        online = open_online_store(url)
        write_online(online)
        try:
            yield CapabilityRuntime.build("upsell", store, storage, online), store, booster
        finally:
            online.close()
            store.close()


def _offline(store: MetadataStore, rows: list[dict]) -> list[dict]:
    """What a training set computes for these stored values and request fields."""
    selection = select_features(store, ["customer_activity", "basket"], [])
    table = pa.table(
        {
            "basket_value": pa.array([r["basket_value"] for r in rows], pa.float64()),
            "orders_90d": pa.array([r.get("orders_90d") for r in rows], pa.int64()),
            "spend_90d": pa.array([r.get("spend_90d") for r in rows], pa.float64()),
        }
    )
    con = duckdb.connect()
    try:
        return add_to_training_set(
            con, table, selection.on_demand_views, selection.on_demand_names
        ).to_pylist()
    finally:
        con.close()


def test_on_demand_value_served_equals_the_training_value_and_feeds_the_model(upsell):
    runtime, store, booster = upsell
    requests = [("1", 350.0), ("1", -20.5), ("2", 99.0)]
    decisions = [runtime.decide({"customer_id": key, "basket_value": value}) for key, value in requests]
    offline = _offline(
        store, [{**ONLINE[key]["customer_activity"], "basket_value": value} for key, value in requests]
    )
    assert [d.features["basket_vs_average"] for d in decisions] == [r["basket_vs_average"] for r in offline]
    assert decisions[0].features["basket_vs_average"] == 350.0 - 800.0 / 4
    assert decisions[2].features["basket_vs_average"] is None  # 0 orders: no average, NULL as in training
    for decision in decisions:
        row = np.array([[np.nan if decision.features[f] is None else decision.features[f] for f in FEATURES]])
        assert decision.score == pytest.approx(float(booster.predict(row)[0]), abs=1e-12)


def test_feature_groups_asked_for_by_the_capability_come_back_with_the_decision(upsell):
    runtime, _, _ = upsell
    answer = runtime.decide({"customer_id": "1", "basket_value": 10.0}).to_dict()
    assert answer["features"] == {"tickets_30d": 2, "complained": None}
    # Without activity values the stored views still answer for the group; the model gets NaN and NULL.
    third = runtime.decide({"customer_id": "3", "basket_value": 10.0})
    assert third.to_dict()["features"] == {"tickets_30d": 0, "complained": False}
    assert third.features["basket_vs_average"] is None
    unknown = runtime.decide({"customer_id": "404", "basket_value": 10.0}).to_dict()
    assert (unknown["fallback"], unknown["features"]) == (True, {})


def test_a_request_without_the_request_field_is_refused(upsell):
    runtime, _, _ = upsell
    with pytest.raises(ZhongtaiError, match="field 'basket_value' is required: on-demand features"):
        runtime.decide({"customer_id": "1"})
    with pytest.raises(ZhongtaiError, match="field 'basket_value' must be a float64, got a str"):
        runtime.decide({"customer_id": "1", "basket_value": "big"})


def test_a_model_is_not_served_an_expression_it_was_not_trained_on(tmp_path):
    store, storage, booster = register_upsell(tmp_path)
    expression = "basket_value - customer_activity.spend_90d / nullif(customer_activity.orders_90d, 0)"
    trained = store.features.add_training_set(
        "ts1", "basket_model", 0, [], {"on_demand": {"basket.basket_vs_average": expression}}
    )
    artifact = save_booster(storage, "basket_model", booster)
    version = store.models.register(
        "basket_model", artifact, ARTIFACT_FORMAT, FEATURES, {}, {}, trained.id, "test"
    )
    store.models.set_alias("basket_model", version.version, "champion")
    online = open_online_store(f"sqlite:///{tmp_path / 'online.db'}")
    try:
        assert CapabilityRuntime.build("upsell", store, storage, online).model_version == version.version

        changed = SPECS.replace(expression, "basket_value - customer_activity.spend_90d")
        (tmp_path / "project" / "specs.yaml").write_text(changed)
        plan = build_plan(load_project(tmp_path / "project"), store)
        assert plan.steps[0].breaking == (
            "feature basket_vs_average computed differently: models trained on it would be served new values",
        )
        apply_plan(plan, store)
        with pytest.raises(
            ZhongtaiError,
            match=r"model 'basket_model' v2 learned basket.basket_vs_average as `basket_value - customer_activity"
            r".spend_90d / nullif\(customer_activity.orders_90d, 0\)`; the registered on-demand view now computes "
            r"`basket_value - customer_activity.spend_90d`",
        ):
            CapabilityRuntime.build("upsell", store, storage, online)
    finally:
        online.close()
        store.close()
