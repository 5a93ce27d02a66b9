"""On-demand views and feature groups in a project folder: every mistake named by file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from zhongtai.spec.project import SpecErrors, load_project

pytestmark = pytest.mark.unit

GOOD = """\
entities:
  - {name: customer, join_keys: [customer_id]}
  - {name: product, join_keys: [product_id]}
feature_views:
  - name: orders
    entity: customer
    sql: SELECT customer_id, ts, spend_90d, orders_90d FROM agg
    features:
      - {name: spend_90d}
      - {name: orders_90d, type: int64}
  - name: product_sales
    entity: product
    sql: SELECT product_id, ts, units_7d FROM sales
    features: [{name: units_7d, type: int64}]
on_demand_views:
  - name: basket
    entity: customer
    request:
      - {name: basket_value}
    features:
      - name: basket_vs_average
        expression: basket_value - orders.spend_90d / nullif(orders.orders_90d, 0)
feature_groups:
  - name: churn_signals
    entity: customer
    features: [orders.*, basket.basket_vs_average]
models:
  - name: churn
    entity: customer
    label: {sql: "SELECT customer_id, ts, label FROM labels"}
    feature_groups: [churn_signals]
capabilities:
  - name: churn-risk
    model: churn
    input: customer_id
    decisions: [{decision: act, min_score: 0.5}]
    fallback: {decision: wait}
    feature_groups: [churn_signals]
"""


def _problems(tmp_path: Path, text: str) -> list[str]:
    (tmp_path / "specs.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(SpecErrors) as caught:
        load_project(tmp_path, {})
    return caught.value.problems


def test_good_feature_specs_load(tmp_path):
    (tmp_path / "specs.yaml").write_text(GOOD, encoding="utf-8")
    project = load_project(tmp_path, {})
    assert project.on_demand_views["basket"].features[0].name == "basket_vs_average"
    assert project.feature_groups["churn_signals"].features == ["orders.*", "basket.basket_vs_average"]
    assert project.models["churn"].feature_views == []


@pytest.mark.parametrize(
    ("bad", "expected"),
    [
        (
            "basket_value - system('ls')",
            "specs.yaml:22 on_demand_views.basket.features.basket_vs_average.expression: "
            "function 'system' is not allowed in an on-demand expression (allowed: abs, ceil,",
        ),
        (
            "basket_value - (SELECT 1)",
            "specs.yaml:22 on_demand_views.basket.features.basket_vs_average.expression: "
            "'(SELECT 1)' is not allowed",
        ),
        (
            "basket_value - orders.spend_30d",
            "specs.yaml:22 on_demand_views.basket.features.basket_vs_average.expression: 'orders.spend_30d': "
            "view 'orders' has no feature 'spend_30d' (it has: spend_90d, orders_90d)",
        ),
        (
            "basket_value - product_sales.units_7d",
            "specs.yaml:22 on_demand_views.basket.features.basket_vs_average.expression: "
            "'product_sales.units_7d': view 'product_sales' describes 'product', this view 'customer'",
        ),
        (
            "basket_valu - orders.spend_90d",
            "specs.yaml:22 on_demand_views.basket.features.basket_vs_average.expression: 'basket_valu' is not "
            "a request field (known: basket_value)",
        ),
        (
            "CASE WHEN basket_value > 1 THEN 'big' ELSE 'small' END",
            "specs.yaml:22 on_demand_views.basket.features.basket_vs_average.expression: "
            "the expression gives text, but the feature is declared float64",
        ),
        (
            "basket_value + 'abc'",
            "specs.yaml:22 on_demand_views.basket.features.basket_vs_average.expression: does not type-check: "
            "''abc'' is text, add needs number",
        ),
        (
            "CASE WHEN basket_value THEN 1 END",
            "specs.yaml:22 on_demand_views.basket.features.basket_vs_average.expression: does not type-check: "
            "'basket_value' is number, case needs boolean",
        ),
        (
            "coalesce(basket_value, orders.spend_90d > 1)",
            "specs.yaml:22 on_demand_views.basket.features.basket_vs_average.expression: does not type-check: "
            "'COALESCE(basket_value, orders.spend_90d > 1)' mixes boolean and number",
        ),
    ],
)
def test_bad_expression_is_named_at_its_line(tmp_path, bad, expected):
    text = GOOD.replace("basket_value - orders.spend_90d / nullif(orders.orders_90d, 0)", bad)
    (problem,) = _problems(tmp_path, text)
    assert problem.startswith(f"{tmp_path}/{expected}"), problem


def test_group_members_and_references_are_checked(tmp_path):
    text = (
        GOOD.replace("[orders.*, basket.basket_vs_average]", "[orders.nope, product_sales.units_7d, orders]")
        .replace(
            "feature_groups: [churn_signals]\ncapabilities", "feature_groups: [churn_signal]\ncapabilities"
        )
        .replace("    feature_groups: [churn_signals]\n", "    feature_groups: [signals]\n")
    )
    problems = _problems(tmp_path, text)
    assert problems == [
        f"{tmp_path}/specs.yaml:26 feature_groups.churn_signals.features.2: "
        "expected view.feature or view.*, got 'orders'"
    ]
    problems = _problems(tmp_path, text.replace(", orders]", "]"))
    assert problems == [
        f"{tmp_path}/specs.yaml:26 feature_groups.churn_signals.features.0: 'orders.nope': view 'orders' has no "
        "feature 'nope' (it has: spend_90d, orders_90d)",
        f"{tmp_path}/specs.yaml:26 feature_groups.churn_signals.features.1: 'product_sales.units_7d': view "
        "'product_sales' describes 'product', the group 'customer'",
        f"{tmp_path}/specs.yaml:31 models.churn.feature_groups.0: unknown feature group 'churn_signal' "
        "(known: churn_signals)",
        f"{tmp_path}/specs.yaml:38 capabilities.churn-risk.feature_groups.0: unknown feature group 'signals' "
        "(known: churn_signals)",
    ]


def test_a_model_needs_views_or_groups(tmp_path):
    text = GOOD.replace("    feature_groups: [churn_signals]\ncapabilities", "capabilities")
    (problem,) = _problems(tmp_path, text)
    assert problem == f"{tmp_path}/specs.yaml:28 models.churn: give feature_views or feature_groups (or both)"
