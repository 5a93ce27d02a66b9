"""Quotas on calls per minute per workspace, through a real gateway: a policy's `shared_by: workspace` limit is
one bucket every key of the workspace draws from, and ZT_LIMIT_PER_WORKSPACE gives every workspace its own."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.gateway.conftest import RunningGateway, served_world
from zhongtai.meta.records import Change

pytestmark = pytest.mark.integration

QUOTA = {
    "name": "quotas",
    "limits": [
        {
            "name": "marketing_quota",
            "principals": ["workspace:marketing"],
            "per_minute": 1,
            "burst": 3,
            "shared_by": "workspace",
        }
    ],
}
KEYS = {"campaigns": "marketing", "newsletter": "marketing", "sales-app": "sales"}


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[tuple[RunningGateway, dict[str, str]]]:
    tmp_path = tmp_path_factory.mktemp("quotas")
    secrets: dict[str, str] = {}

    def prepare(world: Any) -> None:
        world.store.apply([Change("policies", "create", "quotas", QUOTA)], "test")
        for name, workspace in KEYS.items():
            secrets[name] = world.store.access.create_key(name, ["caller"], workspace=workspace)

    online = f"sqlite:///{tmp_path / 'online.db'}"
    # One token a minute refills nothing within the test: the bursts are the whole budget.
    with served_world(tmp_path, online, prepare=prepare, limit_per_workspace=5.0) as gateway:
        yield gateway, secrets


def _decide(gateway: RunningGateway, secret: str) -> httpx.Response:
    return httpx.post(
        f"{gateway.url}/v1/capabilities/churn-risk/decide",
        headers={"X-API-Key": secret},
        json={"customer_id": 1000},
        timeout=30,
    )


def test_a_workspace_quota_is_shared_by_its_keys_and_spares_other_workspaces(served):
    gateway, secrets = served
    # The policy's marketing quota: a burst of 3 for the whole workspace, whichever key calls.
    statuses = [_decide(gateway, secrets[k]).status_code for k in ("campaigns", "newsletter", "campaigns")]
    assert statuses == [200, 200, 200]
    refused = _decide(gateway, secrets["newsletter"])
    assert refused.status_code == 429
    assert refused.json()["message"] == "rate limit quotas.marketing_quota reached"
    assert int(refused.headers["Retry-After"]) >= 1
    # Sales is not in the policy's quota; ZT_LIMIT_PER_WORKSPACE=5 gives it a bucket of its own.
    assert [_decide(gateway, secrets["sales-app"]).status_code for _ in range(5)] == [200] * 5
    sales = _decide(gateway, secrets["sales-app"])
    assert sales.status_code == 429 and sales.json()["message"] == "rate limit ZT_LIMIT_PER_WORKSPACE reached"
    # A key in no workspace draws from no workspace bucket.
    assert [_decide(gateway, gateway.key).status_code for _ in range(6)] == [200] * 6
