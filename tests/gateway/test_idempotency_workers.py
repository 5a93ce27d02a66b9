"""`zhongtai serve --workers 2`: retries with one Idempotency-Key, over fresh connections that either worker
may accept, all get the first answer, and the decision log holds it once."""

from __future__ import annotations

import pytest

from tests.capabilities.world import KNOWN_IDS, build_world
from tests.gateway.conftest import workers_serving
from zhongtai.client import Client

pytestmark = pytest.mark.integration


def test_retries_across_workers_are_answered_and_logged_once(tmp_path):
    world = build_world(
        tmp_path, f"sqlite:///{tmp_path / 'metadata.db'}", f"sqlite:///{tmp_path / 'online.db'}"
    )
    key = world.store.access.create_key("crm", ["caller"])
    world.online.close()
    with workers_serving(world) as (url, _manager):
        answers = []
        for _ in range(20):  # a new client, so a new connection, each time: either worker may take it
            with Client(url, key) as zt:
                answers.append(
                    zt.decide("churn-risk", customer_id=KNOWN_IDS[2], idempotency_key="order-4711")
                )
    assert len({a.decision_id for a in answers}) == 1
    assert [a.replayed for a in answers] == [False] + [True] * 19
    logged = world.store.decisions.recent("churn-risk", limit=100)
    assert [r.id for r in logged] == [answers[0].decision_id]
    world.store.close()
