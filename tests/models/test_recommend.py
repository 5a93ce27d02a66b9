"""The recommendation trainer through `train_model`: figures with full ranking against the baselines, a
safe artifact, and clear errors (nothing registered) for data a ranking cannot be learnt from."""

from __future__ import annotations

import io

import numpy as np
import pytest

from tests.capabilities.recommend_shop import SPECS, make_shop
from zhongtai.errors import ZhongtaiError
from zhongtai.models.artifacts import read_artifact, sibling
from zhongtai.models.train import train_model

pytestmark = pytest.mark.integration


@pytest.fixture
def shop(tmp_path):
    made = make_shop(tmp_path, f"sqlite:///{tmp_path / 'meta.db'}", f"sqlite:///{tmp_path / 'online.db'}")
    yield made
    made.online.close()
    made.store.close()


def test_trains_a_ranker_that_beats_most_popular_with_full_ranking(shop):
    version = train_model(shop.store, shop.lake, "recommender")
    metrics = version.metrics
    assert version.artifact_format == "recommender"
    assert metrics["validation"]["users"] == metrics["baseline"]["users"] > 50
    assert metrics["validation"]["hit_rate_at_10"] > metrics["baseline"]["hit_rate_at_10"]
    assert metrics["validation"]["ndcg_at_10"] > metrics["baseline"]["ndcg_at_10"]
    assert {"cooccurrence", "als", "cuts", "ranker_groups"} <= set(metrics)
    assert metrics["items"] == 40  # product 99 was never bought
    assert "person_profile.age" in version.features and "item_price" in version.features


def test_the_artifact_is_lightgbm_text_npz_and_json_only(shop):
    version = train_model(shop.store, shop.lake, "recommender")
    assert read_artifact(shop.lake, version.artifact).startswith(b"tree\n")
    for name in ("candidates.npz", "items.npz", "history.npz"):
        with np.load(
            io.BytesIO(read_artifact(shop.lake, sibling(version.artifact, name))), allow_pickle=False
        ) as data:
            assert all(data[key].dtype != object for key in data.files)


def _retrain_with(shop, sql: str) -> ZhongtaiError:
    specs = SPECS.replace("SOURCE_URL", str(shop.source.url)).replace(
        '"SELECT customer_id, product_id, bought_at, quantity FROM purchases"', f'"{sql}"'
    )
    (shop.project / "shop.yaml").write_text(specs)
    from zhongtai.spec.plan import apply_plan, build_plan
    from zhongtai.spec.project import load_project

    apply_plan(build_plan(load_project(shop.project), shop.store), shop.store)
    with pytest.raises(ZhongtaiError) as raised:
        train_model(shop.store, shop.lake, "recommender")
    assert shop.store.models.versions("recommender") == []
    return raised.value


def test_a_ranking_dataset_with_one_item_is_refused_naming_the_item_field(shop):
    error = _retrain_with(
        shop, "SELECT customer_id, product_id, bought_at, quantity FROM purchases WHERE product_id = 3"
    )
    assert "recommend.item: the interactions hold 1 distinct item" in error.message


def test_no_interactions_is_refused_naming_the_label_sql(shop):
    error = _retrain_with(
        shop, "SELECT customer_id, product_id, bought_at, quantity FROM purchases WHERE quantity > 100"
    )
    assert "label.sql returned no interactions" in error.message


def test_a_label_sql_without_the_item_column_is_refused(shop):
    error = _retrain_with(shop, "SELECT customer_id, bought_at, quantity FROM purchases")
    assert "lacks column(s) product_id" in error.message
