"""With a shadow arm: a new answer (single or each input of a batch) is shadow-scored once; a replayed answer
is not scored or logged again."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest

from tests.capabilities.world import KNOWN_IDS, register_model, train_booster
from tests.gateway.conftest import served_world

pytestmark = pytest.mark.integration


def test_a_replayed_answer_is_not_shadow_scored_again(tmp_path):
    def prepare(world):
        register_model(world.store, world.storage, train_booster(seed=9), alias="candidate")

    with served_world(
        tmp_path,
        f"sqlite:///{tmp_path / 'online.db'}",
        key=("ops", ["admin"]),
        prepare=prepare,
        serving_poll_seconds=0.2,
    ) as gateway:
        headers = {"Authorization": f"Bearer {gateway.key}"}
        policy = {
            "arms": [{"name": "champion", "weight": 100}],
            "shadows": [{"name": "candidate", "sample": 1.0}],
            "reason": "watch the candidate",
        }
        put = httpx.put(f"{gateway.url}/v1/capabilities/churn-risk/traffic", json=policy, headers=headers)
        assert put.status_code == 200, put.text
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            listed = httpx.get(f"{gateway.url}/v1/capabilities", headers=headers).json()["capabilities"]
            if any(t.get("shadow") == "candidate" for c in listed for t in c["traffic"]):
                break
            time.sleep(0.1)
        single_key = {**headers, "Idempotency-Key": str(uuid.uuid4())}
        batch_key = {**headers, "Idempotency-Key": str(uuid.uuid4())}
        base = f"{gateway.url}/v1/capabilities/churn-risk"
        batch = {"inputs": [{"customer_id": k} for k in KNOWN_IDS[1:4]]}
        for _ in range(3):
            single = httpx.post(f"{base}/decide", json={"customer_id": KNOWN_IDS[0]}, headers=single_key)
            batched = httpx.post(f"{base}/decide/batch", json=batch, headers=batch_key)
            assert single.status_code == batched.status_code == 200, (single.text, batched.text)
        answered = [single.json()["decision_id"]] + [r["decision_id"] for r in batched.json()["results"]]
        gateway.stop()  # flushes the shadow scorer's records into the decision log
        records = gateway.world.store.decisions.recent("churn-risk", limit=1000)
        assert sorted(r.id for r in records if r.shadow_of is None) == sorted(answered)
        shadows = [r for r in records if r.shadow_of is not None]
        assert sorted(r.shadow_of for r in shadows) == sorted(answered)
        assert {r.arm for r in shadows} == {"candidate"}
