"""On-demand features and feature groups in training sets over a real lake, and adding a feature to a view
without rebuilding everything."""

from __future__ import annotations

import datetime as dt

import pytest

from zhongtai.errors import ZhongtaiError
from zhongtai.features.materialize import materialize
from zhongtai.features.offline import build_view
from zhongtai.features.on_demand import OnDemandFeatures
from zhongtai.features.online.base import entity_key
from zhongtai.features.selection import select_features
from zhongtai.features.training import build_training_set
from zhongtai.spec.plan import build_plan

from .conftest import LABELS, SPECS

pytestmark = pytest.mark.integration

# The request field comes from the label SQL (what the basket was worth when the question was asked).
ON_DEMAND = (
    SPECS.replace(
        'label: {sql: "SELECT customer_id, asked_at AS ts, churned AS label FROM churn"}\n'
        "    feature_views: [spend, profile]",
        'label: {sql: "SELECT customer_id, asked_at AS ts, churned AS label, label_id * 12.5 AS basket_value '
        'FROM churn"}\n'
        "    feature_views: [basket]\n"
        "    feature_groups: [signals]",
    )
    + """\
on_demand_views:
  - name: basket
    entity: customer
    request:
      - {name: basket_value, type: float64}
    features:
      - name: basket_vs_last
        expression: basket_value - spend.last_amount
      - name: big_basket
        type: bool
        expression: basket_value > 2 * coalesce(spend.last_amount, 0)
feature_groups:
  - name: signals
    entity: customer
    features: [profile.tier, spend.orders_so_far]
"""
)


def test_on_demand_and_group_features_in_a_training_set_equal_what_serving_computes(shop):
    shop.apply(ON_DEMAND)
    build_view(shop.store, shop.lake, "spend")
    build_view(shop.store, shop.lake, "profile")
    training, table = build_training_set(shop.store, shop.lake, "churn_model")
    # Context columns (the request field, the stored value the expression reads) stay beside the features.
    assert table.column_names == [
        "customer_id", "ts", "label", "basket_value", "last_amount", "orders_so_far", "tier",
        "basket_vs_last", "big_basket",
    ]  # fmt: skip
    assert training.lineage["features"] == ["basket_vs_last", "big_basket", "tier", "orders_so_far"]
    assert training.lineage["on_demand"] == {
        "basket.basket_vs_last": "basket_value - spend.last_amount",
        "basket.big_basket": "basket_value > 2 * coalesce(spend.last_amount, 0)",
    }
    assert training.lineage["request_fields"] == {"basket_value": "float64"}
    assert table.num_rows == len(LABELS)
    rows = {(r["customer_id"], r["ts"]): r for r in table.to_pylist()}
    after_first_order = rows[(1, dt.datetime(2024, 1, 6))]
    assert after_first_order["basket_vs_last"] == 2 * 12.5 - 10.0
    assert after_first_order["big_basket"] is True
    assert rows[(1, dt.datetime(2024, 1, 4))]["basket_vs_last"] is None  # no spend yet: NULL, not 0

    # Serving: the same registered definition, compiled once, fed what the online store would hold at each
    # label's moment (the training row's stored values) and the request field.
    selection = select_features(shop.store, ["basket"], ["signals"])
    serving = OnDemandFeatures(selection.on_demand_views, selection.names, ["spend"])
    for row in table.to_pylist():
        stored = {"last_amount": row["last_amount"], "orders_so_far": row["orders_so_far"]}
        request = serving.request_values({"basket_value": row["basket_value"]})
        assert serving.compute([stored], request) == {
            "basket_vs_last": row["basket_vs_last"],
            "big_basket": row["big_basket"],
        }


def test_label_sql_without_the_request_field_is_named(shop):
    shop.apply(ON_DEMAND.replace(", label_id * 12.5 AS basket_value", ""))
    build_view(shop.store, shop.lake, "spend")
    build_view(shop.store, shop.lake, "profile")
    with pytest.raises(ZhongtaiError, match="the SQL's output lacks column\\(s\\) basket_value") as caught:
        build_training_set(shop.store, shop.lake, "churn_model")
    assert "the request fields of its on-demand features (basket_value)" in caught.value.hint


NEW_FEATURE = SPECS.replace(
    "count(*) OVER (PARTITION BY customer_id ORDER BY ordered_at) AS orders_so_far",
    "count(*) OVER (PARTITION BY customer_id ORDER BY ordered_at) AS orders_so_far,\n"
    "             amount * 2 AS double_amount",
).replace(
    "      - {name: orders_so_far, type: int64}\n",
    "      - {name: orders_so_far, type: int64}\n      - {name: double_amount, type: float64}\n",
)


def test_adding_a_feature_is_additive_and_only_its_view_needs_a_rebuild(shop, online):
    build_view(shop.store, shop.lake, "spend")
    profile = build_view(shop.store, shop.lake, "profile")
    materialize(shop.store, shop.lake, online, "spend")
    before = online.read(entity_key([1]), ["spend"])["spend"]

    (shop.project / "specs.yaml").write_text(NEW_FEATURE.replace("SOURCE_URL", str(shop.source_db.url)))
    from zhongtai.spec.project import load_project

    plan = build_plan(load_project(shop.project), shop.store)
    [step] = plan.steps
    assert (step.kind, step.action, step.name, step.breaking) == ("feature_views", "update", "spend", ())
    assert step.additive == (
        "feature double_amount added (float64): builds made before lack it until the view is rebuilt",
    )
    shop.apply(NEW_FEATURE)

    # The online store keeps serving what it had; the old build cannot feed the new column anywhere.
    assert online.read(entity_key([1]), ["spend"])["spend"] == before
    with pytest.raises(
        ZhongtaiError, match="build 1 of feature view 'spend' lacks feature\\(s\\) double_amount"
    ):
        build_training_set(shop.store, shop.lake, "churn_model")
    with pytest.raises(ZhongtaiError, match="materialize 'spend': build 1 of feature view 'spend' lacks"):
        materialize(shop.store, shop.lake, online, "spend")

    # Rebuilding that one view is enough: the other view's build is reused as it is.
    assert build_view(shop.store, shop.lake, "spend").build == 2
    training, table = build_training_set(shop.store, shop.lake, "churn_model")
    assert training.lineage["feature_views"] == {"spend": 2, "profile": profile.build}
    assert [r["double_amount"] for r in table.to_pylist() if r["last_amount"] is not None] == [
        2 * r["last_amount"] for r in table.to_pylist() if r["last_amount"] is not None
    ]
    materialize(shop.store, shop.lake, online, "spend")
    assert online.read(entity_key([1]), ["spend"])["spend"] == {**before, "double_amount": 60.0}


def test_removing_or_retyping_a_feature_is_a_breaking_change(shop):
    removed = SPECS.replace("      - {name: orders_so_far, type: int64}\n", "").replace(
        ",\n             count(*) OVER (PARTITION BY customer_id ORDER BY ordered_at) AS orders_so_far", ""
    )
    (shop.project / "specs.yaml").write_text(removed.replace("SOURCE_URL", str(shop.source_db.url)))
    from zhongtai.spec.project import load_project

    [step] = build_plan(load_project(shop.project), shop.store).steps
    assert step.breaking == ("feature orders_so_far removed: models trained on it can no longer be served",)

    retyped = SPECS.replace("{name: orders_so_far, type: int64}", "{name: orders_so_far, type: float64}")
    (shop.project / "specs.yaml").write_text(retyped.replace("SOURCE_URL", str(shop.source_db.url)))
    plan = build_plan(load_project(shop.project), shop.store)
    assert plan.steps[0].breaking == ("feature orders_so_far retyped int64 -> float64: rebuild and retrain",)
    assert plan.steps[0].to_dict()["breaking"] == list(plan.steps[0].breaking)
