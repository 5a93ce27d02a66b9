"""ROI metering: calls, callers, latency, attributed outcomes and reuse, aggregated in the metadata database
(SQLite, PostgreSQL, MariaDB), and the report over the API and the CLI of a real gateway."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from tests.capabilities.world import KNOWN_IDS, SPECS
from tests.flywheel.test_quality import _await_logged, _env
from tests.gateway.conftest import RunningGateway, served_world
from zhongtai.errors import ZhongtaiError
from zhongtai.flywheel.roi import attribute, parse_values, roi_report
from zhongtai.flywheel.usage import CallGroup, OutcomeGroup, call_groups, outcome_groups
from zhongtai.meta.records import DecisionRecord
from zhongtai.meta.store import MetadataStore
from zhongtai.meta.time import now
from zhongtai.spec.models import CapabilitySpec
from zhongtai.spec.plan import apply_plan, build_plan
from zhongtai.spec.project import load_project

# (caller, decision, fallback, latency ms, churned outcome or None) of the logged churn-risk answers.
LOGGED = [
    ("crm", "retain_offer", False, 10.0, False),
    ("crm", "retain_offer", False, 20.0, False),
    ("crm", "watch", False, 30.0, True),
    ("crm", "none", False, 40.0, False),  # not flagged: its outcome is no retention
    ("erp", "watch", False, 50.0, False),
    ("erp", "watch", False, 60.0, None),
    ("erp", "new_customer", True, 70.0, False),  # a fallback: not flagged
    ("erp", "none", False, 80.0, None),
    ("erp", "none", False, 90.0, None),
    ("erp", "none", False, 100.0, None),
]


def _logged_store(url: str, tmp_path: Path) -> MetadataStore:
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "churn.yaml").write_text(SPECS)
    store = MetadataStore(url)
    apply_plan(build_plan(load_project(folder), store), store)
    at = now() - timedelta(hours=1)
    records = [
        DecisionRecord(
            id=str(uuid.uuid4()),
            at=at,
            capability="churn-risk",
            principal=caller,
            model_name="churn",
            model_version=None if fallback else 1,
            decision=decision,
            score=0.5,
            fallback=fallback,
            inputs={},
            features={},
            latency_ms=latency,
        )
        for caller, decision, fallback, latency, _ in LOGGED
    ]
    shadow = DecisionRecord(
        id=str(uuid.uuid4()), at=at, capability="churn-risk", principal="crm", model_name="churn",
        model_version=2, decision="watch", score=0.4, fallback=False, inputs={}, features={},
        latency_ms=999.0, arm="challenger", shadow_of=records[0].id,
    )  # fmt: skip
    old = DecisionRecord(
        id=str(uuid.uuid4()), at=at - timedelta(days=40), capability="churn-risk", principal="crm",
        model_name="churn", model_version=1, decision="watch", score=0.4, fallback=False, inputs={},
        features={}, latency_ms=999.0,
    )  # fmt: skip
    store.decisions.append([*records, shadow, old])
    for record, (*_, churned) in zip(records, LOGGED, strict=True):
        if churned is not None:
            store.feedback.add(record.id, "churn-risk", "churned", churned, "crm")
    store.feedback.add(old.id, "churn-risk", "churned", False, "crm")  # outside the window
    return store


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def logged(request, tmp_path) -> Iterator[MetadataStore]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'metadata.db'}"
    else:
        url = request.getfixturevalue("pg_url" if request.param == "postgresql" else "mariadb_url")
    store = _logged_store(url, tmp_path)
    try:
        yield store
    finally:
        store.close()


@pytest.mark.integration
def test_calls_callers_latency_and_retention_are_counted_in_the_database(logged):
    report = roi_report(logged, now() - timedelta(days=30), values={("churn-risk", "retained"): 120.0})
    rows = {row.capability: row for row in report.capabilities}
    churn = rows["churn-risk"]
    assert churn.task == "binary_classification"
    assert churn.calls == 10  # the shadow and the 40-day-old answer are not counted
    assert churn.callers == {"erp": 6, "crm": 4}
    assert churn.fallbacks == 1 and churn.fallback_share == pytest.approx(0.1)
    assert (churn.p50_ms, churn.p95_ms) == (50.0, 100.0)  # nearest rank: the 5th and the 10th of 10
    assert churn.compute_seconds == pytest.approx(0.55)
    assert churn.outcomes == {"flagged": 5, "retained": 3, "lost": 1, "retention_rate": pytest.approx(0.75)}
    assert churn.value == {"retained": 360.0}
    assert report.to_dict()["assumptions"]["values"] == {"churn-risk:retained": 120.0}
    assert rows["churn-challenger"].calls == 0 and rows["churn-challenger"].p50_ms is None


@pytest.mark.integration
def test_an_empty_window_reports_every_capability_with_nothing_in_it(logged):
    report = roi_report(logged, now())
    assert [(r.capability, r.calls, r.callers, r.p95_ms) for r in report.capabilities] == [
        ("churn-challenger", 0, {}, None),
        ("churn-risk", 0, {}, None),
    ]
    assert report.capabilities[1].outcomes == {"flagged": 0, "retained": 0, "lost": 0, "retention_rate": None}
    json.dumps(report.to_dict())  # JSON-ready even when empty


@pytest.mark.integration
def test_reuse_is_drawn_from_the_specs(tmp_path):
    store = _logged_store(f"sqlite:///{tmp_path / 'metadata.db'}", tmp_path)
    try:
        found = {(r.kind, r.name): r.to_dict() for r in roi_report(store, now() - timedelta(days=1)).reuse}
    finally:
        store.close()
    both = ["churn-challenger", "churn-risk"]
    assert found == {
        ("feature view", "customer_activity"): {
            "kind": "feature view", "name": "customer_activity", "models": ["churn"], "capabilities": both,
            "calls": 10, "reuse": 1,
        },
        ("feature view", "customer_service"): {
            "kind": "feature view", "name": "customer_service", "models": ["churn"], "capabilities": both,
            "calls": 10, "reuse": 1,
        },
        ("model", "churn"): {
            "kind": "model", "name": "churn", "models": [], "capabilities": both, "calls": 10, "reuse": 1,
        },
    }  # fmt: skip


@pytest.mark.integration
def test_an_outcome_naming_an_item_converts_only_when_the_item_was_answered(logged):
    at = now() - timedelta(minutes=5)
    answered = {"items": [{"product_id": "P1"}, {"product_id": "P2"}]}
    records = [
        DecisionRecord(
            id=str(uuid.uuid4()),
            at=at,
            capability="churn-risk",
            principal="shop",
            model_name="churn",
            model_version=1,
            decision="personalised",
            score=None,
            fallback=False,
            inputs={},
            features={},
            latency_ms=1.0,
            output=answered,
        )
        for _ in range(4)
    ]
    logged.decisions.append(records)
    for record, (kind, item) in zip(
        records, [("bought", "P2"), ("bought", "P9"), ("clicked", "P1"), ("clicked", True)], strict=True
    ):
        logged.feedback.add(record.id, "churn-risk", kind, item, "shop")
    window = (at - timedelta(seconds=1), None)  # MariaDB keeps whole seconds
    calls = [g for g in call_groups(logged, *window) if g.principal == "shop"]
    outcomes = [o for o in outcome_groups(logged, *window) if o.decision == "personalised"]
    spec = CapabilitySpec.model_validate(logged.spec("capabilities", "churn-risk"))
    found = attribute(logged, "churn-risk", spec, "recommendation", calls, outcomes, window)
    assert found == {"clicks": 2, "conversions": 1, "click_share": 0.5, "conversion_share": 0.25}


@pytest.mark.unit
def test_values_are_capability_outcome_and_amount():
    assert parse_values(["churn-risk:retained=120", "intent:auto=3.5"], "--value") == {
        ("churn-risk", "retained"): 120.0,
        ("intent", "auto"): 3.5,
    }
    with pytest.raises(ZhongtaiError, match=r"--value: 'churn-risk=120' is not CAPABILITY:OUTCOME=AMOUNT"):
        parse_values(["churn-risk=120"], "--value")
    with pytest.raises(ZhongtaiError, match=r"--value: 'c:retained=9{400}' is not CAPABILITY:OUTCOME=AMOUNT"):
        parse_values(["c:retained=" + "9" * 400], "--value")  # a number no float holds


@pytest.mark.integration
def test_a_value_on_an_outcome_the_task_has_not_is_refused(tmp_path):
    store = _logged_store(f"sqlite:///{tmp_path / 'metadata.db'}", tmp_path)
    try:
        with pytest.raises(
            ZhongtaiError, match=r"churn-risk \(binary_classification\) has no outcome 'auto'"
        ):
            roi_report(store, now(), values={("churn-risk", "auto"): 1.0})
        with pytest.raises(ZhongtaiError, match=r"no capability 'nope' in the report"):
            roi_report(store, now(), values={("nope", "retained"): 1.0})
    finally:
        store.close()


def _calls(*groups: tuple[str, str | None, int]) -> list[CallGroup]:
    return [CallGroup("c", "crm", decision, False, route, n, 1.0) for decision, route, n in groups]


def _outcome(kind: str, value: Any, n: int, route: str | None = None) -> OutcomeGroup:
    return OutcomeGroup("c", "refund", False, route, kind, value, n)


@pytest.mark.unit
def test_intent_routing_counts_tickets_handled_without_a_person_and_resolved():
    spec = CapabilitySpec.model_validate(
        {"name": "c", "model": "m", "input": "x", "fallback": {"decision": "other"}}
    )
    calls = _calls(("refund", "auto", 6), ("refund", "human_review", 4))
    outcomes = [
        _outcome("resolved", True, 3, "auto"),
        _outcome("resolved", "false", 1, "auto"),
        _outcome("resolved", True, 2, "human_review"),  # a person resolved these
    ]
    found = attribute(None, "c", spec, "text_classification", calls, outcomes, (now(), None))  # type: ignore[arg-type]
    assert found == {
        "auto": 6, "human_review": 4, "auto_share": 0.6, "resolved": 3, "resolved_share": 0.75,
    }  # fmt: skip


@pytest.mark.unit
def test_recommendation_conversions_and_a_forecast_claims_nothing():
    spec = CapabilitySpec.model_validate(
        {"name": "c", "model": "m", "input": "x", "fallback": {"decision": "popular"}}
    )
    calls = _calls(("personalised", None, 8), ("popular", None, 2))
    outcomes = [_outcome("clicked", True, 4), _outcome("clicked", False, 3), _outcome("bought", 1, 2)]
    found = attribute(None, "c", spec, "recommendation", calls, outcomes, (now(), None))  # type: ignore[arg-type]
    assert found == {"clicks": 4, "conversions": 2, "click_share": 0.4, "conversion_share": 0.2}
    forecast = attribute(None, "c", spec, "forecast", calls, outcomes, (now(), None))  # type: ignore[arg-type]
    assert forecast["measurable"] is False and "not measurable" in forecast["note"]


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[RunningGateway]:
    tmp_path = tmp_path_factory.mktemp("roi")
    with served_world(tmp_path, f"sqlite:///{tmp_path / 'online.db'}") as running:
        yield running


@pytest.mark.integration
def test_the_report_over_the_api_and_the_cli(served, monkeypatch):
    store = served.world.store
    keys = {"crm": served.key, "erp": store.access.create_key("erp", ["caller"])}
    reader = store.access.create_key("sponsor", ["catalog"])  # read_models, not call
    ids: dict[str, list[str]] = {"crm": [], "erp": []}
    for caller, customers in (("crm", KNOWN_IDS[:7]), ("erp", [*KNOWN_IDS[7:10], "nobody"])):
        with httpx.Client(base_url=served.url, headers={"Authorization": f"Bearer {keys[caller]}"}) as client:
            for customer in customers:
                answer = client.post("/v1/capabilities/churn-risk/decide", json={"customer_id": customer})
                assert answer.status_code == 200, answer.text
                ids[caller].append(answer.json()["decision_id"])
    _await_logged(served, ids["crm"] + ids["erp"])
    logged = store.decisions.by_ids(ids["crm"] + ids["erp"])
    flagged = [d for d in logged if not d.fallback and d.decision in ("watch", "retain_offer")]
    assert len(flagged) >= 2, [d.decision for d in logged]  # the world's scores flag several
    for i, record in enumerate(flagged):
        store.feedback.add(record.id, "churn-risk", "churned", i == 0, "crm")  # the first left anyway

    with httpx.Client(base_url=served.url, headers={"Authorization": f"Bearer {reader}"}) as client:
        report = client.get("/v1/reports/roi", params={"since": "1d", "value": "churn-risk:retained=120"})
        bad = client.get("/v1/reports/roi", params={"since": "lately"})
        unknown = client.get("/v1/reports/roi", params={"value": "churn-risk:auto=1"})
        nowhere = client.get("/v1/reports/roi", params={"value": "nope:retained=1"})
    caller = httpx.get(
        f"{served.url}/v1/reports/roi", headers={"Authorization": f"Bearer {served.key}"}, timeout=10
    )
    assert report.status_code == 200, report.text
    churn = next(c for c in report.json()["capabilities"] if c["capability"] == "churn-risk")
    assert churn["calls"] == 11 and churn["callers"] == {"crm": 7, "erp": 4}
    assert churn["fallbacks"] == 1  # nobody has features
    assert churn["outcomes"]["flagged"] == len(flagged)
    assert (churn["outcomes"]["retained"], churn["outcomes"]["lost"]) == (len(flagged) - 1, 1)
    assert churn["value"] == {"retained": 120.0 * (len(flagged) - 1)}
    assert bad.status_code == 422 and "since" in bad.text
    assert unknown.status_code == 422 and "has no outcome 'auto'" in unknown.json()["message"]
    assert nowhere.status_code == 404 and "no capability 'nope'" in nowhere.json()["message"]
    assert caller.status_code == 403 and "read_models" in caller.json()["message"]

    for name, value in _env(served).items():
        monkeypatch.setenv(name, value)
    _cli_reports(churn)


def _cli_reports(churn: dict[str, Any]) -> None:
    """The CLI on the same world as `churn` came from (the CLI's settings and store are opened once per
    process: another test's CLI call may have opened them on its own world)."""
    from zhongtai.cli import context

    context.settings.cache_clear()
    context.store.cache_clear()
    try:
        _cli_checks(churn)
    finally:
        context.store().close()
        context.settings.cache_clear()
        context.store.cache_clear()


def _cli_checks(churn: dict[str, Any]) -> None:
    from zhongtai.cli.app import app

    shown = CliRunner().invoke(app, ["report", "roi", "--since", "1d", "--json"])
    assert shown.exit_code == 0, shown.output
    from_cli = next(c for c in json.loads(shown.output)["capabilities"] if c["capability"] == "churn-risk")
    assert {k: from_cli[k] for k in ("calls", "callers", "outcomes")} == {
        k: churn[k] for k in ("calls", "callers", "outcomes")
    }
    table = CliRunner().invoke(app, ["report", "roi", "--value", "churn-risk:retained=120"])
    assert table.exit_code == 0, table.output
    assert "churn-risk" in table.output and "assumptions" in table.output and "Reuse" in table.output
    wrong = CliRunner().invoke(app, ["report", "roi", "--since", "lately"])
    assert wrong.exit_code != 0 and "--since: expected a duration like" in wrong.output
