"""The SDK's governing calls against a scripted server: a change is never sent twice after its answer was
lost (it has no idempotency key), a read is; 429 and 503 are retried for both (refused before acting)."""

from __future__ import annotations

import pytest

from tests.client.scripted_server import DROP, scripted
from zhongtai.client import Client, ConnectionFailed, Forbidden, Retry

pytestmark = pytest.mark.unit
FAST = Retry(attempts=4, backoff_s=0.01, max_backoff_s=0.05)
KEY = {"name": "crm-app", "prefix": "zt_abcdefgh", "roles": ["app"]}
BUSY = (503, {"Retry-After": "0"}, {"code": "unavailable", "message": "loading", "hint": "wait"})


def test_a_change_whose_answer_was_lost_is_not_sent_again():
    made = (201, {}, {"key": KEY, "secret": "zt_x"})
    lost = pytest.raises(ConnectionFailed, match="may have been done")
    with scripted(DROP, made) as (url, script), Client(url, "zt_k", retry=FAST) as zt, lost:
        zt.governance.create_key("crm-app", ["app"])
    assert [(s.method, s.path) for s in script.seen] == [("POST", "/v1/keys")]
    assert script.seen[0].body == {"name": "crm-app", "roles": ["app"], "scopes": []}


def test_a_read_whose_answer_was_lost_is_sent_again_and_503_is_retried_for_a_change():
    with scripted(DROP, (200, {}, {"keys": [KEY]})) as (url, script), Client(url, "k", retry=FAST) as zt:
        assert zt.governance.keys() == [KEY]
    assert len(script.seen) == 2
    answer = (200, {}, {"key": KEY, "secret": "zt_new"})
    with scripted(BUSY, answer) as (url, script), Client(url, "k", retry=FAST) as zt:
        assert zt.governance.rotate_key("crm-app", "1h")["secret"] == "zt_new"
    assert [s.path for s in script.seen] == ["/v1/keys/crm-app/rotate"] * 2
    assert script.seen[0].body == {"grace": "1h"}


def test_a_403_carries_the_verdict_and_query_filters_are_sent():
    denied = (403, {}, {"code": "forbidden", "message": "API key 'x' may not read_audit: no rule grants it"})
    refused = pytest.raises(Forbidden, match="may not read_audit: no rule grants it")
    with scripted(denied) as (url, script), Client(url, "k", retry=FAST) as zt, refused:
        zt.governance.audit_records(kind="approve", object_contains="churn", limit=5)
    assert script.seen[0].path == "/v1/audit/records?kind=approve&object=churn&limit=5"


def test_spec_documents_are_planned_and_replayed_as_reads_and_applied_once():
    plan = (200, {}, {"steps": [], "applied": False})
    with scripted(DROP, plan) as (url, script), Client(url, "k", retry=FAST) as zt:
        assert zt.governance.plan_specs("capabilities: []") == {"steps": [], "applied": False}
    assert [(s.method, s.path) for s in script.seen] == [("POST", "/v1/specs/plan")] * 2
    assert script.seen[0].body == {"document": "capabilities: []", "source": "capability.yaml"}
    impact = (
        200,
        {},
        {"since": "2026-03-03T00:00:00+00:00", "impacts": [{"capability": "c", "status": "new"}]},
    )
    with scripted(impact) as (url, script), Client(url, "k", retry=FAST) as zt:
        assert zt.governance.spec_impact("capabilities: []", days=3) == [{"capability": "c", "status": "new"}]
    assert script.seen[0].path == "/v1/specs/impact?days=3"
    with (
        scripted(DROP, plan) as (url, script),
        Client(url, "k", retry=FAST) as zt,
        pytest.raises(ConnectionFailed),
    ):
        zt.governance.apply_specs("capabilities: []")
    assert len(script.seen) == 1
    exported = (200, {}, {"kind": "capabilities", "name": "churn", "spec": {}, "yaml": "capabilities: []\n"})
    with scripted(exported) as (url, script), Client(url, "k", retry=FAST) as zt:
        assert zt.governance.export_capability("churn") == "capabilities: []\n"
    assert script.seen[0].path == "/v1/specs/capabilities/churn"
