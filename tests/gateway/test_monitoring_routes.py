"""The monitoring API against a real gateway: the overview's figures are the store's, drift checks, flywheel
runs and alerts page, each listing keeps only what the policy lets the reader see, and a firing alert
resolves once, by a principal allowed change_traffic on its capability."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.console.monitoring_world import (
    ANSWERED,
    BATCHES,
    CALLS,
    FALLBACKS,
    LABELLED,
    LAST_HOUR_CALLS,
    P50_MS,
    P99_MS,
    Served,
    served_monitoring,
)
from zhongtai.monitor.alert_rules import canary_alert
from zhongtai.monitor.alerts import AlertCenter

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[Served]:
    with served_monitoring(tmp_path_factory.mktemp("monitoring")) as found:
        yield found


def _get(served: Served, role: str, path: str, **params) -> httpx.Response:
    headers = {"Authorization": f"Bearer {served.keys[role]}"}
    return httpx.get(f"{served.running.url}{path}", params=params, headers=headers, timeout=30)


def _post(served: Served, role: str, path: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {served.keys[role]}"}
    return httpx.post(f"{served.running.url}{path}", headers=headers, timeout=30)


def _capability(body: dict, name: str) -> dict:
    [found] = [c for c in body["capabilities"] if c["capability"] == name]
    return found


def test_the_overview_shows_the_figures_the_store_holds(served):
    body = _get(served, "admin", "/v1/overview", window="24h").json()
    churn = _capability(body, "churn-risk")
    assert churn["calls"] == CALLS and churn["fallbacks"] == FALLBACKS * len(BATCHES)
    assert churn["p50_ms"] == P50_MS and churn["p99_ms"] == P99_MS
    assert churn["fallback_share"] == pytest.approx(FALLBACKS * len(BATCHES) / CALLS)
    assert churn["drift"]["verdict"] == "major" and churn["drift"]["version"] == served.monitored.champion
    assert churn["quality"]["measure"] == "auc" and churn["quality"]["decisions"] == LABELLED
    assert churn["outcomes"]["retained"] + churn["outcomes"]["lost"] == LABELLED
    assert churn["outcomes"]["flagged"] == ANSWERED * len(BATCHES)
    attention = body["attention"]
    assert {"model": "churn", "version": served.monitored.pending} == {
        k: v for k, v in attention["approvals"][0].items() if k != "since"
    }
    assert attention["reviews"]["overdue"] == 1 and attention["reviews"]["items"][0]["queue"] == "retention"
    assert attention["alerts"]["firing"] == 2
    assert {a["name"] for a in attention["alerts"]["items"]} == {"FeatureDrift", "CanaryRolledBack"}
    assert [d["dataset"] for d in attention["datasets"]] == ["crm_customers"]
    assert attention["datasets"][0]["age_hours"] is None and attention["datasets"][0]["promised_hours"] == 1.0


def test_the_window_bounds_what_is_counted(served):
    churn = _capability(_get(served, "admin", "/v1/overview", window="1h").json(), "churn-risk")
    assert churn["calls"] == LAST_HOUR_CALLS and churn["fallbacks"] == FALLBACKS
    answer = _get(served, "admin", "/v1/overview", window="yesterday")
    assert answer.status_code == 422 and answer.json()["code"] == "invalid_argument"


def test_a_role_without_read_models_is_refused_everywhere(served):
    for path in ("/v1/overview", "/v1/capabilities/churn-risk/drift", "/v1/flywheel/runs", "/v1/alerts"):
        answer = _get(served, "caller", path)
        assert answer.status_code == 403, path
        assert answer.json()["code"] == "forbidden" and "read_models" in answer.json()["message"]


def test_a_narrow_grant_sees_only_its_capability(served):
    body = _get(served, "narrow", "/v1/overview").json()
    assert [c["capability"] for c in body["capabilities"]] == ["churn-challenger"]
    assert body["attention"]["approvals"] == []  # the churn model is not theirs to read
    assert body["attention"]["alerts"] == {"firing": 0, "items": []}
    assert body["attention"]["datasets"] == []
    assert "churn-risk" not in _get(served, "narrow", "/v1/overview").text
    denied = _get(served, "narrow", "/v1/capabilities/churn-risk/drift")
    assert denied.status_code == 403 and "churn-risk" in denied.json()["message"]
    assert _get(served, "narrow", "/v1/flywheel/runs").json()["total"] == 0
    alerts = _get(served, "narrow", "/v1/alerts").json()
    assert [a["labels"]["capability"] for a in alerts["alerts"]] == ["churn-challenger"]
    assert _get(served, "narrow", "/v1/alerts", capability="churn-risk").json()["total"] == 0


def test_drift_checks_page_newest_first(served):
    first = _get(served, "admin", "/v1/capabilities/churn-risk/drift").json()
    assert first["total"] == len(BATCHES)
    assert [r["verdict"] for r in first["reports"]] == ["major", "major", "ok"]
    newest = {c["name"]: c for c in first["reports"][0]["results"]}
    assert newest["spend_90d"]["verdict"] == "major" and newest["score"]["kind"] == "numeric"
    assert {"psi", "js", "ks", "effect"} <= set(newest["spend_90d"])
    second = _get(served, "admin", "/v1/capabilities/churn-risk/drift", offset=1, limit=1).json()
    assert [r["id"] for r in second["reports"]] == [first["reports"][1]["id"]]
    assert _get(served, "admin", "/v1/capabilities/nope/drift").status_code == 404
    assert _get(served, "admin", "/v1/capabilities/churn-risk/drift", limit=0).status_code == 422


def test_flywheel_runs_carry_their_timeline(served):
    body = _get(served, "admin", "/v1/flywheel/runs").json()
    assert body["total"] == 1
    [run] = body["runs"]
    assert run["id"] == served.monitored.run and run["state"] == "awaiting_approval"
    assert [s["state"] for s in run["steps"]] == ["triggered", "trained", "awaiting_approval"]
    assert run["challenger_version"] == served.monitored.pending
    assert _get(served, "admin", "/v1/flywheel/runs", capability="churn-challenger").json()["total"] == 0
    assert _get(served, "admin", "/v1/flywheel/runs", capability="nope").status_code == 404


def test_alerts_filter_by_status_and_capability(served):
    firing = _get(served, "admin", "/v1/alerts", status="firing").json()
    assert firing["total"] == 2 and {a["capability"] for a in firing["alerts"]} == {"churn-risk"}
    drift = [a for a in firing["alerts"] if a["name"] == "FeatureDrift"]
    assert [a["labels"]["feature"] for a in drift] == served.monitored.drifted
    resolved = _get(served, "admin", "/v1/alerts", status="resolved").json()
    assert [a["capability"] for a in resolved["alerts"]] == ["churn-challenger"]
    assert _get(served, "admin", "/v1/alerts").json()["total"] == 3
    assert _get(served, "admin", "/v1/alerts", status="open").status_code == 422


def test_a_firing_alert_resolves_once_by_whom_change_traffic_allows(served):
    alert = canary_alert("churn-challenger", "fresh", "error rate above its guard")
    AlertCenter(served.running.world.store, []).fire([alert])
    path = f"/v1/alerts/{alert.fingerprint}/resolve"
    refused = _post(served, "catalog", path)
    assert refused.status_code == 403 and "change_traffic" in refused.json()["message"]
    done = _post(served, "models", path)
    assert done.status_code == 200 and done.json()["alert"]["status"] == "resolved"
    assert done.json()["alert"]["ends_at"] is not None
    audit = served.running.world.store.audit.records(kind="alert_resolve")
    assert [(r.principal, r.rule, r.object) for r in audit] == [
        ("monitoring-models", "test_roles.modelers", "alert CanaryRolledBack")
    ]
    assert alert.fingerprint in audit[0].body
    again = _post(served, "models", path)
    assert again.status_code == 409 and again.json()["code"] == "conflict"
    assert _post(served, "models", "/v1/alerts/" + "0" * 32 + "/resolve").status_code == 404
    assert _post(served, "models", "/v1/alerts/not-a-fingerprint/resolve").status_code == 422
