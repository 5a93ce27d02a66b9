from __future__ import annotations

import dataclasses

import httpx
import pytest

from tests.capabilities.world import KNOWN_IDS, build_world
from tests.gateway.conftest import start_gateway

pytestmark = pytest.mark.integration


def test_a_server_failure_is_a_500_json_body_without_traceback(tmp_path):
    world = build_world(tmp_path, f"sqlite:///{tmp_path / 'metadata.db'}", f"sqlite:///{tmp_path / 'o.db'}")
    key = world.store.access.create_key("crm", ["caller"])
    # Nothing listens on port 1: every online read fails, which is the gateway's fault, not the caller's.
    settings = dataclasses.replace(world.settings, online_url="redis://127.0.0.1:1/0")
    running = start_gateway(settings, world, key)
    try:
        response = httpx.post(
            f"{running.url}/v1/capabilities/churn-risk/decide",
            json={"customer_id": KNOWN_IDS[0]},
            headers={"X-API-Key": key},
        )
    finally:
        running.stop()
        world.online.close()
        world.store.close()
    assert response.status_code == 500
    assert response.json() == {
        "code": "internal",
        "message": "internal error",
        "hint": "the gateway log has the details",
    }
    assert "Traceback" not in response.text
