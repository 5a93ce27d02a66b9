"""Over HTTP: a capability with an on-demand feature and a feature group, served by a real gateway."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.capabilities.test_on_demand_runtime import register_upsell, write_online
from tests.capabilities.world import World, online_url
from tests.gateway.conftest import RunningGateway, start_gateway
from zhongtai.config import Settings
from zhongtai.features.online.base import open_online_store

pytestmark = pytest.mark.integration
DECIDE = "/v1/capabilities/upsell/decide"


@pytest.fixture
def gateway(tmp_path) -> Iterator[RunningGateway]:
    store, storage, booster = register_upsell(tmp_path)
    with online_url("sqlite", tmp_path) as url:
        online = open_online_store(url)
        write_online(online)
        settings = Settings(
            home=tmp_path / "home",
            metadata_url=store.url,
            lake_url=storage.url,
            offline_engine="duckdb",
            online_url=url,
            bus_url=f"sqlite:///{tmp_path / 'bus.db'}",
        )
        key = store.access.create_key("shop", ["admin"])  # no policy in this store: only an admin may call
        running = start_gateway(settings, World(store, storage, online, settings, booster, {}), key)
        try:
            yield running
        finally:
            running.stop()
            online.close()
            store.close()


def test_decide_computes_the_on_demand_feature_and_returns_the_group(gateway):
    headers = {"Authorization": f"Bearer {gateway.key}"}
    answer = httpx.post(
        f"{gateway.url}{DECIDE}", json={"customer_id": "1", "basket_value": 350.0}, headers=headers
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["features"] == {"tickets_30d": 2, "complained": None}
    assert answer.json()["fallback"] is False

    missing = httpx.post(f"{gateway.url}{DECIDE}", json={"customer_id": "1"}, headers=headers)
    assert missing.status_code == 422  # invalid_argument, as for any bad field
    assert "field 'basket_value' is required: on-demand features are computed from it" in missing.text
    wrong = httpx.post(
        f"{gateway.url}{DECIDE}", json={"customer_id": "1", "basket_value": "x"}, headers=headers
    )
    assert wrong.status_code == 422 and "must be a float64" in wrong.text
