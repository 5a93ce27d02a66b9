"""A stored feature value that is NaN or infinite (JSON has neither) is answered as null, never a 500."""

from __future__ import annotations

import math

import pytest

from zhongtai.gateway.json_body import FeatureJSONResponse, finite

pytestmark = pytest.mark.integration
DECIDE = "/v1/capabilities/churn-risk/decide"


@pytest.mark.unit
def test_non_finite_floats_become_null_at_any_depth():
    content = {"a": [1.5, math.nan, {"b": (math.inf, -math.inf)}], "c": "NaN", "d": 0}
    assert finite(content) == {"a": [1.5, None, {"b": [None, None]}], "c": "NaN", "d": 0}
    assert FeatureJSONResponse(content).body == b'{"a":[1.5,null,{"b":[null,null]}],"c":"NaN","d":0}'
    assert FeatureJSONResponse({"x": 1.0}).body == b'{"x":1.0}'


def test_nan_and_infinity_in_the_online_store_are_answered_as_null(gateway, client):
    gateway.world.online.write(
        "customer_activity",
        [("nan-customer", {"orders_90d": 2, "spend_90d": math.nan, "days_since_order": math.inf})],
    )
    read = client.post(
        "/v1/features/online", json={"entities": ["nan-customer"], "views": ["customer_activity"]}
    )
    assert read.status_code == 200, read.text
    values = read.json()["results"][0]["values"]["customer_activity"]
    assert values == {"orders_90d": 2, "spend_90d": None, "days_since_order": None}

    decided = client.post(DECIDE, json={"customer_id": "nan-customer"})
    assert decided.status_code == 200, decided.text
    body = decided.json()
    assert body["fallback"] is False and 0 <= body["score"] <= 1
    shown = {f["feature"]: f["value"] for f in body["factors"]}
    assert all(v is None or math.isfinite(v) for v in shown.values() if not isinstance(v, bool))
