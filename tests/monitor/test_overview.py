"""The overview and the monitoring listings over the metadata store, on SQLite and PostgreSQL: figures from
aggregates, alerts filtered by their capability label in SQL, runs by the models one may read, pages whole."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest

from tests.models.conftest import register_model_spec
from zhongtai.catalog.freshness import is_stale, promised_hours
from zhongtai.meta.drift import DriftReport
from zhongtai.meta.flywheel import FlywheelRecords, FlywheelRun
from zhongtai.meta.records import Change, DecisionRecord
from zhongtai.meta.store import MetadataStore
from zhongtai.meta.time import now
from zhongtai.monitor.alert_formats import Alert
from zhongtai.monitor.alert_rules import canary_alert
from zhongtai.monitor.alerts import AlertCenter
from zhongtai.monitor.history import alerts_page, drift_history, flywheel_runs
from zhongtai.monitor.overview import overview

pytestmark = pytest.mark.integration


def everything(action: str, name: str, kind: str) -> bool:
    return True


def only(*names: str):
    return lambda action, name, kind: name in names


@pytest.fixture
def store(metadata_url: str) -> Iterator[MetadataStore]:
    """A store with the churn model's spec and two capabilities on it, `a` and `b`."""
    opened = MetadataStore(metadata_url)
    register_model_spec(opened)
    for name in ("a", "b"):
        capability = {
            "name": name,
            "model": "churn",
            "input": "customer_id",
            "fallback": {"decision": "none"},
        }
        opened.apply([Change("capabilities", "create", name, capability)], actor="test")
    yield opened
    opened.close()


def _decision(capability: str, latency: float, fallback: bool = False, ago: timedelta = timedelta(minutes=5)):
    return DecisionRecord(
        id=str(uuid.uuid4()), at=now() - ago, capability=capability, principal="crm", model_name="churn",
        model_version=None if fallback else 1, decision="none", score=None if fallback else 0.2, fallback=fallback,
        inputs={"customer_id": "1"}, features={}, latency_ms=latency,
    )  # fmt: skip


def test_figures_come_from_the_window_of_the_log(store):
    store.decisions.append(
        [_decision("a", float(ms)) for ms in range(1, 100)]
        + [_decision("a", 500.0, fallback=True), _decision("a", 1.0, ago=timedelta(days=2))]
    )
    found = overview(store, now() - timedelta(hours=1), everything)
    a, b = found.capabilities
    assert (a.capability, a.calls, a.fallbacks, a.p50_ms, a.p99_ms) == ("a", 100, 1, 50.0, 99.0)
    assert (b.calls, b.p50_ms, b.drift, b.canary) == (0, None, None, None)
    assert b.quality == {"measure": "auc", "value": None, "decisions": 0, "floor": None, "below_floor": False}
    assert [c.capability for c in overview(store, now() - timedelta(hours=1), only("b")).capabilities] == [
        "b"
    ]


def test_alerts_are_filtered_by_their_capability_label_in_the_database(store):
    center = AlertCenter(store, [])
    stray = Alert("ZhongtaiTest", {"source": "test"})
    center.fire([canary_alert("a", "x"), canary_alert("b", "y"), stray])
    center.resolve([canary_alert("b", "y")])

    def names(status, can, capability=None):
        page = alerts_page(store, can, status, capability, 0, 50)
        return sorted(a["capability"] or a["name"] for a in page["alerts"]), page["total"]

    assert names(None, everything) == (["ZhongtaiTest", "a", "b"], 3)
    assert names("firing", everything) == (["ZhongtaiTest", "a"], 2)
    assert names(None, only("a")) == (["a"], 1)  # no alert about no capability for a narrow reader
    assert names(None, only("a"), "b") == ([], 0)
    assert names("resolved", everything, "b") == (["b"], 1)
    first, second = (alerts_page(store, everything, None, None, offset, 2) for offset in (0, 2))
    assert len(first["alerts"]) == 2 and len(second["alerts"]) == 1 and second["total"] == 3
    assert {a["fingerprint"] for a in first["alerts"] + second["alerts"]} == {
        a.fingerprint for a in (canary_alert("a", "x"), canary_alert("b", "y"), stray)
    }


def test_runs_and_drift_checks_page_newest_first(store):
    records = FlywheelRecords(store)
    at = now()
    for i, capability in enumerate(("a", "b", "a")):
        run = FlywheelRun(
            id=uuid.uuid4().hex, model_name="churn", capability=capability, state="triggered", reason=f"run {i}",
            trigger={}, champion_version=1, challenger_version=None, triggered_by="scheduler", steps=[],
            created_at=at + timedelta(seconds=i), updated_at=at, open=False,
        )  # fmt: skip
        records.start(run)
    page = flywheel_runs(store, everything, "a", 0, 1)
    assert page["total"] == 2 and [r["reason"] for r in page["runs"]] == ["run 2"]
    assert flywheel_runs(store, only("a", "b"), None, 0, 10)["total"] == 0  # the model churn is not theirs
    for i in range(3):
        store.drift.add_report(
            DriftReport(
                id=0, capability="a", model_name="churn", model_version=1, at=at + timedelta(seconds=i),
                window_start=at, window_end=at, decisions=10 * i, verdict="ok", drifted=0, results=[],
                thresholds={},
            )
        )  # fmt: skip
    checks = drift_history(store, "a", 1, 5)
    assert checks["total"] == 3 and [r["decisions"] for r in checks["reports"]] == [10, 0]
    assert drift_history(store, "b", 0, 5)["total"] == 0


def test_a_promised_refresh_reads_as_hours():
    assert [promised_hours(v) for v in ("hourly", "Daily", "weekly", "6h", "90m")] == [1, 24, 168, 6, 1.5]
    assert promised_hours("when the CRM team feels like it") is None and promised_hours(None) is None


def test_a_canary_its_guard_rolled_back_needs_attention(store):
    policy = {"arms": [{"name": "champion", "alias": "champion"}, {"name": "cand", "version": 2}],
              "canary": {"arm": "cand", "steps": [5, 50]}}  # fmt: skip
    since = now().isoformat()
    state = {"step": 0, "since": since, "status": "rolled_back", "reason": "error rate 12% above 5%"}
    store.traffic.set("a", policy, "canary-controller", "guard tripped", state=state)
    [tripped] = overview(store, now() - timedelta(hours=1), everything).attention["canaries"]
    assert tripped == {"capability": "a", "arm": "cand", "reason": "error rate 12% above 5%", "since": since}
    assert overview(store, now() - timedelta(hours=1), only("b")).attention["canaries"] == []
    a = overview(store, now() - timedelta(hours=1), everything).capabilities[0]
    assert a.canary is not None and a.canary["status"] == "rolled_back"


def test_stale_means_later_than_the_promise_allows():
    # One judgment for the Overview's list and the catalog's dataset entry: half a period of slack.
    assert is_stale(24.0, 30.0) is False and is_stale(24.0, 37.0) is True
    assert is_stale(24.0, None) is True and is_stale(None, 1000.0) is None
