"""`/metrics` on a real gateway: decisions, latency, fallbacks by reason, missing features per view, the
decision log, traffic; and the observer's rules for shadows and outcome labels."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from prometheus_client import REGISTRY

from tests.capabilities.world import KNOWN_IDS
from tests.gateway.conftest import RunningGateway, served_world
from zhongtai.meta.records import DecisionRecord
from zhongtai.monitor.metrics import MAX_OUTCOMES, DecisionObserver
from zhongtai.monitor.metrics_collect import spill_figures


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in an exposition (0 when absent)."""
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}")[0]))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[RunningGateway]:
    tmp_path = tmp_path_factory.mktemp("metrics")
    with served_world(tmp_path, f"sqlite:///{tmp_path / 'online.db'}") as running:
        yield running


@pytest.mark.integration
def test_decisions_fallbacks_and_missing_features_are_exported(served):
    before = httpx.get(f"{served.url}/metrics", timeout=10).text
    headers = {"Authorization": f"Bearer {served.key}"}
    with httpx.Client(base_url=served.url, headers=headers, timeout=10) as client:
        for key in KNOWN_IDS[:10]:
            assert (
                client.post("/v1/capabilities/churn-risk/decide", json={"customer_id": key}).status_code
                == 200
            )
        # The last known id has no customer_service values: its features from that view are missing.
        client.post("/v1/capabilities/churn-risk/decide", json={"customer_id": KNOWN_IDS[-1]})
        unknown = client.post(
            "/v1/capabilities/churn-risk/decide", json={"customer_id": "nobody-here"}
        ).json()
    assert unknown["fallback"] is True
    after = httpx.get(f"{served.url}/metrics", timeout=10)
    assert after.status_code == 200
    text = after.text

    def grew(name: str, **labels: str) -> float:
        return sample(text, name, **labels) - sample(before, name, **labels)

    assert grew("zt_decision_latency_seconds_count", capability="churn-risk", arm="champion") == 12
    assert (
        sum(
            grew("zt_decisions_total", capability="churn-risk", arm="champion", outcome=o)
            for o in _outcomes(text)
        )
        == 12
    )
    reason = unknown["fallback_reason"]
    assert grew("zt_decision_fallbacks_total", capability="churn-risk", reason=reason) == 1
    assert grew("zt_feature_values_missing_total", capability="churn-risk", view="customer_service") >= 2
    assert grew("zt_feature_values_total", capability="churn-risk", view="customer_activity") >= 3 * 11
    assert sample(text, "zt_traffic_weight", capability="churn-risk", arm="champion") == 100
    assert "zt_decision_log_spill_bytes 0.0" in text
    assert "zt_feature_view_age_seconds" in text


@pytest.mark.integration
def test_the_decision_log_keeps_the_fallback_reason(served):
    headers = {"Authorization": f"Bearer {served.key}"}
    answer = httpx.post(
        f"{served.url}/v1/capabilities/churn-risk/decide",
        json={"customer_id": "nobody-at-all"},
        headers=headers,
    ).json()
    for _ in range(100):
        logged = served.world.store.decisions.by_ids([answer["decision_id"]])
        if logged:
            break
        time.sleep(0.1)  # the writer thread flushes every 0.2 s
    assert logged[0].fallback_reason == answer["fallback_reason"]


def _outcomes(text: str) -> set[str]:
    return set(re.findall(r'zt_decisions_total\{[^}]*outcome="([^"]*)"', text))


def _record(id: str, decision: str, score: float | None, **extra) -> DecisionRecord:
    return DecisionRecord(
        id=id,
        at=datetime.now(UTC),
        capability=extra.pop("capability", "observer-test"),
        principal="p",
        model_name="m",
        model_version=1,
        decision=decision,
        score=score,
        fallback=False,
        inputs={},
        features={},
        latency_ms=1.0,
        **extra,
    )


def _value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_a_shadow_that_answers_otherwise_counts_as_a_disagreement_with_its_score_shift():
    observer = DecisionObserver()
    observer.observe(_record("a1", "high", 0.9))
    observer.observe(_record("a2", "low", 0.1))
    labels = {"capability": "observer-test", "arm": "next"}
    before = _value("zt_shadow_disagreements_total", **labels)
    observer.observe(_record("s1", "low", 0.3, arm="next", shadow_of="a1"))
    observer.observe(_record("s2", "low", 0.15, arm="next", shadow_of="a2"))
    assert _value("zt_shadow_decisions_total", **labels) >= 2
    assert _value("zt_shadow_disagreements_total", **labels) - before == 1
    assert _value("zt_shadow_score_delta_count", **labels) >= 2
    # Shadows are not answers: no latency or outcome is counted for them.
    assert _value("zt_decision_latency_seconds_count", **labels) == 0


def test_a_declared_arm_exports_its_latency_buckets_before_any_decision():
    # A gateway declares every serving arm at start: a scrape before the first decision has its buckets.
    labels = {"capability": "declared-test", "arm": "challenger"}
    assert REGISTRY.get_sample_value("zt_decision_latency_seconds_count", labels) is None
    DecisionObserver().declare("declared-test", ["challenger"])
    assert REGISTRY.get_sample_value("zt_decision_latency_seconds_count", labels) == 0
    assert REGISTRY.get_sample_value("zt_decision_latency_seconds_bucket", {**labels, "le": "+Inf"}) == 0


def test_outcome_labels_are_bounded_per_capability():
    observer = DecisionObserver()
    for i in range(MAX_OUTCOMES + 5):
        observer.observe(_record(f"o{i}", f"answer-{i}", None, capability="free-text"))
    assert _value("zt_decisions_total", capability="free-text", arm="champion", outcome="other") == 5


def test_spill_figures_count_waiting_records_but_not_refused_ones(tmp_path):
    (tmp_path / "decisions.jsonl").write_text('{"a": 1}\n{"a": 2}\n')
    (tmp_path / "decisions.replaying").write_text('{"a": 3}\n')
    (tmp_path / "decisions.rejected.jsonl").write_text('{"a": 4}\n')
    size, records = spill_figures(tmp_path)
    assert records == 3
    assert size == len('{"a": 1}\n{"a": 2}\n{"a": 3}\n')
