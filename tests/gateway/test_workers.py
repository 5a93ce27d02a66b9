"""`zhongtai serve --workers 2`: two processes on one port, sharing only the stores."""

from __future__ import annotations

import subprocess

import httpx
import pytest

from tests.capabilities.world import KNOWN_IDS, build_world
from tests.gateway.conftest import workers_serving

pytestmark = pytest.mark.integration


def test_two_workers_answer_on_one_port_and_log_every_decision(tmp_path):
    world = build_world(
        tmp_path, f"sqlite:///{tmp_path / 'metadata.db'}", f"sqlite:///{tmp_path / 'online.db'}"
    )
    key = world.store.access.create_key("crm", ["caller"])
    world.online.close()
    with workers_serving(world) as (url, manager):
        workers = subprocess.run(["pgrep", "-P", str(manager)], capture_output=True, text=True).stdout.split()
        assert len(workers) >= 2  # the workers (uvicorn may add a resource tracker beside them)
        headers = {"Authorization": f"Bearer {key}"}
        with httpx.Client(headers=headers) as client:
            answers = [
                client.post(
                    f"{url}/v1/capabilities/churn-risk/decide", json={"customer_id": KNOWN_IDS[i % 39]}
                )
                for i in range(60)
            ]
        assert {a.status_code for a in answers} == {200}
    assert world.store.decisions.count("churn-risk") == 60  # both workers flushed their logs on shutdown
    world.store.close()
