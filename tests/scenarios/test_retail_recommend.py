"""The retail project's recommender specs: stock at the person's store always, the forecast's risk only when
the project holds its view."""

from __future__ import annotations

import pytest

from zhongtai.scenarios.retail.project_recommend import CAPABILITY, RISK_FEATURE, recommend_documents
from zhongtai.spec.models import CapabilitySpec, FeatureViewSpec, ModelSpec

pytestmark = pytest.mark.unit


def _stock(documents: dict) -> dict:
    spec = CapabilitySpec.model_validate(documents["recommend.yaml"]["capabilities"][0])
    assert spec.name == CAPABILITY and spec.recommend is not None and spec.recommend.stock is not None
    return spec.recommend.stock.model_dump()


def test_the_specs_validate_and_read_stock_at_the_store():
    documents = recommend_documents(lambda name: f"SELECT 1 -- {name}", {})
    model = ModelSpec.model_validate(documents["recommend.yaml"]["models"][0])
    view = FeatureViewSpec.model_validate(documents["recommend.yaml"]["feature_views"][0])
    assert model.task == "recommendation" and model.recommend.recent_items == f"{view.name}.recent_products"
    stock = _stock(documents)
    assert stock["in_stock"] == "product_store_stock.in_stock" and stock["unknown"] == "exclude"
    assert stock["risk"] is None


def test_the_forecasts_next_day_risk_drops_and_demotes_when_the_project_has_its_view():
    others = {"forecast.yaml": {"feature_views": [{"name": RISK_FEATURE.split(".")[0]}]}}
    stock = _stock(recommend_documents(lambda name: "SELECT 1", others))
    assert stock["risk"] == "stock_risk.stockout_risk_1d"
    assert (stock["demote_above"], stock["drop_above"]) == (0.0001, 0.0005)


def test_the_risk_view_publishes_the_next_day_risk_the_rule_reads():
    from zhongtai.scenarios.retail.project import _features, _sql
    from zhongtai.scenarios.retail.project_forecast import forecast_documents

    (view,) = forecast_documents(_sql, _features)["forecast.yaml"]["feature_views"]
    assert RISK_FEATURE.split(".")[1] in {f["name"] for f in view["features"]}
    assert "stockout_risk_1d" in view["sql"]
