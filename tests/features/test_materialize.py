"""Materialize: each entity's latest in-TTL values from the newest build, into every online store backend."""

from __future__ import annotations

import pytest

from zhongtai.errors import ZhongtaiError
from zhongtai.features.materialize import materialize
from zhongtai.features.offline import build_view

from .conftest import SPECS

pytestmark = pytest.mark.integration


def test_materialize_writes_latest_values_within_ttl(shop, online):
    build_view(shop.store, shop.lake, "spend")
    build_view(shop.store, shop.lake, "profile")
    seen: list[int] = []
    # spend's newest event is 2024-02-20 12:00; customer 2's only order (01-12) is beyond the 30d TTL then.
    assert materialize(shop.store, shop.lake, online, "spend", on_progress=seen.append) == 1
    assert sum(seen) == 1
    assert materialize(shop.store, shop.lake, online, "profile") == 3
    assert online.read("1", ["spend", "profile"]) == {
        "spend": {"last_amount": 30.0, "orders_so_far": 2},
        "profile": {"tier": "gold"},
    }
    assert online.read("2", ["spend", "profile"]) == {"spend": None, "profile": {"tier": "silver"}}
    assert online.read("4", ["spend", "profile"]) == {"spend": None, "profile": None}
    assert shop.store.features.latest_build("spend").materialized_at is not None


def test_entities_that_left_the_ttl_window_disappear(shop, online):
    build_view(shop.store, shop.lake, "spend")
    online.write("spend", [("2", {"last_amount": 5.0, "orders_so_far": 1})])  # from an earlier run
    materialize(shop.store, shop.lake, online, "spend")
    assert online.read("2", ["spend"]) == {"spend": None}
    assert online.read("1", ["spend"]) == {"spend": {"last_amount": 30.0, "orders_so_far": 2}}


def test_unbuilt_view_is_named(shop, online):
    with pytest.raises(ZhongtaiError, match="feature view 'spend' has not been built"):
        materialize(shop.store, shop.lake, online, "spend")


def test_offline_only_view_is_refused(shop, online):
    shop.apply(SPECS.replace("ttl: 365d", "ttl: 365d\n    online: false"))
    build_view(shop.store, shop.lake, "profile")
    with pytest.raises(ZhongtaiError, match=r"feature view 'profile' is offline only \(online: false\)"):
        materialize(shop.store, shop.lake, online, "profile")
