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


def test_the_forecasts_risk_demotes_when_the_project_has_its_view():
    others = {"forecast.yaml": {"feature_views": [{"name": RISK_FEATURE.split(".")[0]}]}}
    stock = _stock(recommend_documents(lambda name: "SELECT 1", others))
    assert stock["risk"] == "stock_risk.stockout_risk_7d" and stock["demote_above"] == 0.5
