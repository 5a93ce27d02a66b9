"""Process-node answers whose outcome is the capability's review outcome wait in the review queue, with the
node's own deadline; the engine's redelivery of a job makes no second item."""

from __future__ import annotations

from datetime import datetime

import httpx
import pytest

from tests.capabilities.world import KNOWN_IDS
from tests.gateway.conftest import served_world
from tests.integrate.test_process_node import _with_process_bands
from zhongtai.flywheel.review import Verdict, resolve
from zhongtai.meta.review import ReviewFilter

pytestmark = pytest.mark.integration


def test_human_review_outcomes_become_review_items(tmp_path):
    online = f"sqlite:///{tmp_path / 'online.db'}"
    with served_world(tmp_path, online, prepare=_with_process_bands) as gateway:
        headers = {"Authorization": f"Bearer {gateway.key}"}
        answers = []
        for customer in [*KNOWN_IDS[:12], KNOWN_IDS[0]]:  # the last one: a redelivered job
            job = {
                "job_key": f"job-{customer}",
                "business_key": f"case-{customer}",
                "inputs": {"customer_id": customer},
            }
            answer = httpx.post(f"{gateway.url}/v1/capabilities/churn-risk/node", json=job, headers=headers)
            assert answer.status_code == 200, answer.text
            answers.append(answer.json())
        store = gateway.world.store
        assert {a["outcome"] for a in answers} == {"HUMAN_REVIEW", "AUTO_APPROVE"}
        for answer in answers:
            item = store.review.get(answer["decision_id"])
            if answer["outcome"] != "HUMAN_REVIEW":
                assert item is None
                continue
            assert item is not None and (item.capability, item.queue, item.status) == (
                "churn-risk",
                "triage",
                "open",
            )
            assert item.deadline == datetime.fromisoformat(answer["deadline"])
        reviewed = {a["decision_id"] for a in answers if a["outcome"] == "HUMAN_REVIEW"}
        _, total = store.review.page(ReviewFilter())
        assert total == len(reviewed)
        # A binary answer (`watch`) is no truth live quality reads: an accept is the verdict alone.
        first, second = sorted(reviewed)[:2]
        resolve(store, first, Verdict("accept"), "li", "r")
        assert {f.kind: f.value for f in store.feedback.of_decision(first)} == {"verdict": "accept"}
        resolve(store, second, Verdict("correct", "false"), "li", "r")
        assert {f.kind: f.value for f in store.feedback.of_decision(second)} == {
            "verdict": "false",
            "label": "false",
        }
