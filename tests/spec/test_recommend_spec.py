"""Recommendation specs at plan: the settings a task needs, and the entities and views they name, checked
with the file and line at fault."""

from __future__ import annotations

import pytest

from tests.capabilities.recommend_shop import SPECS
from zhongtai.errors import ZhongtaiError
from zhongtai.spec.models import ModelSpec
from zhongtai.spec.project import load_project

pytestmark = pytest.mark.unit


def _load(tmp_path, specs: str):
    (tmp_path / "shop.yaml").write_text(specs.replace("SOURCE_URL", f"sqlite:///{tmp_path / 'source.db'}"))
    return load_project(tmp_path)


def test_the_shop_loads(tmp_path):
    project = _load(tmp_path, SPECS)
    assert project.models["recommender"].recommend.item == "product_id"
    assert project.capabilities["recommend"].recommend.stock.risk == "shelf.risk"


def test_a_recommendation_model_needs_its_settings_and_only_it_may_have_them():
    label = {"sql": "SELECT 1"}
    with pytest.raises(ValueError, match="task recommendation needs `recommend`"):
        ModelSpec(name="r", task="recommendation", entity="customer", label=label)
    with pytest.raises(ValueError, match="`recommend` is for task recommendation, not regression"):
        ModelSpec(
            name="r", task="regression", entity="customer", label=label, feature_views=["v"],
            recommend={"item": "product_id", "item_entity": "product"},
        )  # fmt: skip


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "in_stock: shelf.in_stock, risk: shelf.risk",
            "in_stock: profile.age",
            r"shop.yaml:\d+ capabilities.recommend.recommend.stock.in_stock: feature view 'profile' is keyed "
            r"by customer_id, not by the item and the store \(product_id, store_id",
        ),
        (
            "risk: shelf.risk",
            "risk: shelf.risk_7d",
            "stock.risk: feature view 'shelf' has no feature 'risk_7d'",
        ),
        (
            "recent_items: recent.products",
            "recent_items: shelf.in_stock",
            "recommend.recent_items: feature view 'shelf' describes 'product_store', not 'customer'",
        ),
        ("item_entity: product\n", "item_entity: goods\n", "recommend.item_entity: no entity 'goods'"),
    ],
)
def test_names_the_field_at_fault(tmp_path, old, new, message):
    assert old in SPECS
    with pytest.raises(ZhongtaiError, match=message):
        _load(tmp_path, SPECS.replace(old, new))
