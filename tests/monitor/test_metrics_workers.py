"""`zhongtai serve --workers 2`: /metrics on either worker sums the decisions of both."""

from __future__ import annotations

import httpx
import pytest

from tests.capabilities.world import KNOWN_IDS, build_world
from tests.gateway.conftest import workers_serving
from tests.monitor.test_metrics import sample

pytestmark = pytest.mark.integration


def test_metrics_of_two_workers_count_every_decision(tmp_path):
    world = build_world(
        tmp_path, f"sqlite:///{tmp_path / 'metadata.db'}", f"sqlite:///{tmp_path / 'online.db'}"
    )
    key = world.store.access.create_key("crm", ["caller"])
    world.online.close()
    with workers_serving(world) as (url, _):
        # New connections, so the kernel spreads them over both workers.
        for i in range(40):
            answer = httpx.post(
                f"{url}/v1/capabilities/churn-risk/decide",
                json={"customer_id": KNOWN_IDS[i % 30]},
                headers={"Authorization": f"Bearer {key}"},
                timeout=10,
            )
            assert answer.status_code == 200
        scrapes = [httpx.get(f"{url}/metrics", timeout=10).text for _ in range(4)]
    for text in scrapes:
        count = sample(text, "zt_decision_latency_seconds_count", capability="churn-risk", arm="champion")
        assert count == 40
    assert (tmp_path / "home" / "metrics").is_dir()
    world.store.close()
