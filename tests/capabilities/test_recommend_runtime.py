"""The recommendation runtime on a trained shop: never an item out of stock at the store, risky items
demoted, popular in-stock items for a person without history, a reason for every item, request errors."""

from __future__ import annotations

import pytest

from tests.capabilities.recommend_shop import OUT_OF_STOCK, RISKY, STORE, make_shop
from tests.capabilities.world import online_url
from zhongtai.capabilities.runtime import build_runtime
from zhongtai.errors import ZhongtaiError
from zhongtai.models.train import train_model

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module", params=["sqlite", "redis"])
def shop(request, tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp(request.param)
    with online_url(request.param, tmp_path) as url:
        made = make_shop(tmp_path, f"sqlite:///{tmp_path / 'meta.db'}", url)
        version = train_model(made.store, made.lake, "recommender")
        made.store.models.set_alias("recommender", version.version, "champion")
        yield made
        made.online.close()
        made.store.close()


@pytest.fixture(scope="module")
def runtime(shop):
    return build_runtime("recommend", shop.store, shop.lake, shop.online)


def _items(decision) -> list[int]:
    return [item["item"] for item in decision.output["items"]]


def test_never_recommends_an_item_out_of_stock_at_the_store(runtime):
    for customer in range(1, 301, 7):
        decision = runtime.decide({"customer_id": customer, "store_id": STORE, "k": 12})
        assert len(decision.output["items"]) == 12
        assert not set(_items(decision)) & OUT_OF_STOCK


def test_a_store_without_stock_rows_gets_nothing_when_unknown_stock_is_excluded(runtime):
    assert runtime.decide({"customer_id": 3, "store_id": 8}).output["items"] == []


def test_risky_items_come_after_every_safer_item(runtime):
    demoted = 0
    for customer in range(1, 301, 11):
        items = runtime.decide({"customer_id": customer, "store_id": STORE, "k": 20}).output["items"]
        risky = [i for i, item in enumerate(items) if item["item"] in RISKY]
        safe = [i for i, item in enumerate(items) if item["item"] not in RISKY]
        if risky:
            demoted += 1
            assert max(safe) < min(risky)
            assert all(items[i]["stock_risk"] == 0.9 for i in risky)
    assert demoted > 10


def test_without_stock_rules_the_risky_items_are_not_demoted(shop):
    anywhere = build_runtime("recommend-anywhere", shop.store, shop.lake, shop.online)
    ranks = []
    for customer in range(1, 301, 11):
        items = _items(anywhere.decide({"customer_id": customer, "k": 20}))
        ranks += [i for i, item in enumerate(items) if item in RISKY]
    assert min(ranks) < 20 - len(RISKY)
    assert any(set(_items(anywhere.decide({"customer_id": c, "k": 20}))) & OUT_OF_STOCK for c in (1, 2, 3))


def test_cold_start_answers_popular_items_in_stock(runtime):
    decision = runtime.decide({"customer_id": 999_999, "store_id": STORE})
    assert decision.decision == "popular" and decision.fallback
    assert decision.fallback_reason == "no_history"
    assert len(decision.output["items"]) == 5
    assert {item["reason"] for item in decision.output["items"]} == {"popular and in stock at your store"}
    assert not set(_items(decision)) & OUT_OF_STOCK


def test_every_item_has_a_reason_and_known_persons_get_bought_with(runtime):
    reasons = []
    for customer in range(1, 60):
        decision = runtime.decide({"customer_id": customer, "store_id": STORE})
        assert decision.decision == "personalised"
        reasons += [item["reason"] for item in decision.output["items"]]
    assert all(reasons)
    assert any(reason.startswith("bought with product ") for reason in reasons)


def test_a_person_is_not_recommended_what_they_already_have(shop, runtime):
    import sqlalchemy as sa

    with shop.source.connect() as conn:
        bought = {
            row[0] for row in conn.execute(sa.text("SELECT product_id FROM purchases WHERE customer_id = 4"))
        }
    assert not set(_items(runtime.decide({"customer_id": 4, "store_id": STORE, "k": 20}))) & bought


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"customer_id": 1, "store_id": STORE, "k": 0}, "field 'k' must be a whole number from 1 to 20"),
        ({"customer_id": 1, "store_id": STORE, "k": 21}, "field 'k' must be a whole number from 1 to 20"),
        ({"customer_id": 1}, "store_id"),
        ({"customer_id": 1, "store_id": "seven"}, "store_id"),
        ({"store_id": STORE}, "customer_id"),
    ],
)
def test_bad_requests_name_the_field(runtime, body, message):
    with pytest.raises(ZhongtaiError, match=message) as raised:
        runtime.decide(body)
    assert raised.value.code == "invalid_argument"


def test_an_item_bought_since_training_counts_from_the_online_view(shop, runtime):
    before = runtime.decide({"customer_id": 7, "store_id": STORE, "k": 20})
    known = shop.online.read("7", ["recent"])["recent"]["products"]
    new = next(p for p in (35, 37, 39, 33) if p not in {int(k) for k in known.split(",")})
    shop.online.write("recent", [("7", {"products": f"{new},{known}"})])
    try:
        after = runtime.decide({"customer_id": 7, "store_id": STORE, "k": 20})
    finally:
        shop.online.write("recent", [("7", {"products": known})])
    assert new not in _items(after)
    assert after.features["history_items"] == before.features["history_items"] + 1
    assert f"bought with product {new}" in {item["reason"] for item in after.output["items"]}
