from __future__ import annotations

import dataclasses

import httpx
import pytest

from tests.capabilities.world import KNOWN_IDS, build_world
from tests.gateway.conftest import start_gateway

pytestmark = pytest.mark.integration


def test_an_unreachable_online_store_is_a_fallback_on_decide_and_a_503_on_reads(tmp_path):
    world = build_world(tmp_path, f"sqlite:///{tmp_path / 'metadata.db'}", f"sqlite:///{tmp_path / 'o.db'}")
    key = world.store.access.create_key("crm", ["caller"])
    # Nothing listens on port 1: every online read fails, which is the gateway's fault, not the caller's.
    settings = dataclasses.replace(world.settings, online_url="redis://127.0.0.1:1/0")
    running = start_gateway(settings, world, key)
    try:
        decided = httpx.post(
            f"{running.url}/v1/capabilities/churn-risk/decide",
            json={"customer_id": KNOWN_IDS[0]},
            headers={"X-API-Key": key},
        )
        read = httpx.post(
            f"{running.url}/v1/features/online",
            json={"entities": [KNOWN_IDS[0]], "views": ["customer_activity"]},
            headers={"X-API-Key": key},
        )
    finally:
        running.stop()
        world.online.close()
        world.store.close()
    assert decided.status_code == 200
    assert (decided.json()["fallback"], decided.json()["fallback_reason"]) == (True, "online_unavailable")
    assert read.status_code == 503
    assert read.json()["code"] == "unavailable" and "did not answer" in read.json()["message"]
    assert "Traceback" not in read.text
