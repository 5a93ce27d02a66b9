"""A bundle of a capability with an on-demand feature and a feature group answers as the runtime does: the
request field computed into the model's input, the group's values returned, the same refusals."""

from __future__ import annotations

import pytest

from tests.capabilities.test_on_demand_runtime import register_upsell, write_online
from tests.edge.world_bundle import export
from zhongtai.capabilities.arms import build_armed
from zhongtai.edge import EdgeError, load_bundle
from zhongtai.errors import ZhongtaiError
from zhongtai.features.online.base import open_online_store

pytestmark = pytest.mark.integration


def test_on_demand_features_and_groups_answer_as_the_runtime(tmp_path):
    store, storage, _ = register_upsell(tmp_path)
    online = open_online_store(f"sqlite:///{tmp_path / 'online.db'}")
    try:
        write_online(online)
        bundle = load_bundle(
            export(store, storage, online, "upsell", tmp_path / "b", ["1", "2", "3", "404"]).path
        )
        runtime = build_armed("upsell", store, storage, online)
        for key in ("1", "2", "3", "404"):
            for basket_value in (350.0, -20.5, 0, None):
                inputs = {"customer_id": key, "basket_value": basket_value}
                expected = runtime.decide(inputs).to_dict()
                got = bundle.decide(inputs)
                del expected["decision_id"], got["decision_id"]
                assert got == expected
        assert bundle.decide({"customer_id": "1", "basket_value": 10.0})["features"] == {
            "tickets_30d": 2,
            "complained": None,
        }
        for inputs, message in [
            (
                {"customer_id": "1"},
                "field 'basket_value' is required: on-demand features are computed from it",
            ),
            (
                {"customer_id": "1", "basket_value": "big"},
                "field 'basket_value' must be a float64, got a str",
            ),
        ]:
            with pytest.raises(ZhongtaiError, match=message):
                runtime.decide(inputs)
            with pytest.raises(EdgeError, match=message):
                bundle.decide(inputs)
    finally:
        online.close()
        store.close()
