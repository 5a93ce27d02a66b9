"""Spec documents over HTTP: a capability planned, its impact replayed, applied (audited) and then answering
on the same gateway, exported as YAML that plans as no change; errors name the line and field; roles
without `apply_specs` are refused. And the audit log paged and filtered by time."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
import yaml

from tests.gateway.conftest import RunningGateway, served_world

COMPOSED = """\
capabilities:
  - name: churn-composed
    model: churn
    input: customer_id
    decisions:
      - {decision: call_them, min_score: 0.5}
      - {decision: none, min_score: 0.0}
    fallback: {decision: unknown}
"""


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[tuple[RunningGateway, str]]:
    tmp_path = tmp_path_factory.mktemp("specs")
    with served_world(tmp_path, f"sqlite:///{tmp_path / 'online.db'}", key=("ops", ["admin"])) as running:
        caller = running.world.store.access.create_key("specs-caller", ["caller"])
        yield running, caller


@pytest.fixture
def admin(served) -> Iterator[httpx.Client]:
    running, _ = served
    with httpx.Client(base_url=running.url, headers={"Authorization": f"Bearer {running.key}"}) as client:
        yield client


def _answer(client: httpx.Client, name: str, timeout: float = 30) -> httpx.Response:
    """The first answer of a capability, waiting for the gateway's registry watcher to load it."""
    deadline = time.monotonic() + timeout
    while True:
        answer = client.post(f"/v1/capabilities/{name}/decide", json={"customer_id": "1000"})
        if answer.status_code != 404 or time.monotonic() > deadline:
            return answer
        time.sleep(0.2)


def test_a_composed_capability_is_planned_applied_audited_and_answers(admin):
    planned = admin.post("/v1/specs/plan", json={"document": COMPOSED})
    assert planned.status_code == 200, planned.text
    assert [(s["kind"], s["action"], s["name"]) for s in planned.json()["steps"]] == [
        ("capabilities", "create", "churn-composed")
    ]
    assert planned.json()["applied"] is False
    assert (
        admin.post("/v1/capabilities/churn-composed/decide", json={"customer_id": "1000"}).status_code == 404
    )
    impact = admin.post("/v1/specs/impact", json={"document": COMPOSED}).json()
    assert impact["impacts"] == [
        {"capability": "churn-composed", "status": "new", "message": None, "report": None}
    ]

    applied = admin.post("/v1/specs/apply", json={"document": COMPOSED, "source": "composer.yaml"})
    assert applied.status_code == 200 and applied.json()["applied"] is True
    answer = _answer(admin, "churn-composed")
    assert answer.status_code == 200, answer.text
    assert answer.json()["decision"] in ("call_them", "none")
    [record] = admin.get("/v1/audit/records", params={"kind": "apply", "object": "churn-composed"}).json()[
        "records"
    ]
    assert record["principal"] == "ops" and record["rule"] == "builtin.admin"

    again = admin.post("/v1/specs/apply", json={"document": COMPOSED}).json()
    assert again == {"steps": [], "applied": False}


def test_an_export_is_yaml_that_plans_as_no_change(admin):
    exported = admin.get("/v1/specs/capabilities/churn-risk")
    assert exported.status_code == 200
    body = exported.json()
    assert yaml.safe_load(body["yaml"]) == {"capabilities": [body["spec"]]}
    assert body["spec"]["fallback"]["decision"] == "new_customer"
    assert admin.post("/v1/specs/plan", json={"document": body["yaml"]}).json()["steps"] == []
    assert admin.get("/v1/specs/capabilities/no-such").status_code == 404


def test_a_band_change_shows_its_impact_on_logged_decisions(admin):
    for key in ("1000", "1001", "1002", "1003", "1004"):
        assert admin.post("/v1/capabilities/churn-risk/decide", json={"customer_id": key}).status_code == 200
    spec = admin.get("/v1/specs/capabilities/churn-risk").json()["spec"]
    spec["decisions"] = [{"decision": "everyone", "min_score": 0.0}]
    document = yaml.safe_dump({"capabilities": [spec]})
    plan = admin.post("/v1/specs/plan", json={"document": document}).json()
    [step] = plan["steps"]
    assert step["action"] == "update" and step["changes"][0]["path"] == "decisions"
    deadline = time.monotonic() + 30
    while True:  # the decision log is written in batches, off the answer's path
        [impact] = admin.post("/v1/specs/impact", json={"document": document}).json()["impacts"]
        if (
            impact["status"] == "replayed" and impact["report"]["replayed"] >= 5
        ) or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert impact["status"] == "replayed", impact
    report = impact["report"]
    assert report["agreement"] == 0.0 and sum(report["flips"].values()) == report["replayed"]
    assert all(flip.endswith("-> everyone") for flip in report["flips"])


def test_errors_name_the_line_and_field(admin):
    unknown = COMPOSED.replace("model: churn", "model: nothing")
    answer = admin.post("/v1/specs/plan", json={"document": unknown, "source": "mine.yaml"})
    assert answer.status_code == 422
    assert answer.json()["message"].startswith("mine.yaml:3 capabilities.churn-composed.model: unknown model")
    bad = COMPOSED.replace("min_score: 0.5", "min_score: 5")
    message = admin.post("/v1/specs/plan", json={"document": bad}).json()["message"]
    assert message.startswith("capability.yaml:6 capabilities.churn-composed.decisions.0.min_score:")
    policies = "policies:\n  - {name: p, rules: []}\n"
    refused = admin.post("/v1/specs/apply", json={"document": policies})
    assert refused.status_code == 422 and "/v1/policies/apply" in refused.json()["hint"]


def test_roles_without_apply_specs_are_refused(served):
    running, caller = served
    with httpx.Client(base_url=running.url, headers={"Authorization": f"Bearer {caller}"}) as client:
        for answer in (
            client.post("/v1/specs/plan", json={"document": COMPOSED}),
            client.post("/v1/specs/impact", json={"document": COMPOSED}),
            client.post("/v1/specs/apply", json={"document": COMPOSED}),
        ):
            assert answer.status_code == 403 and "apply_specs" in answer.json()["message"]
        for answer in (client.get("/v1/specs/capabilities/churn-risk"), client.get("/v1/specs/capabilities")):
            assert answer.status_code == 403 and "read_models" in answer.json()["message"]


def test_the_registered_capabilities_are_listed_with_their_specs(admin):
    listed = admin.get("/v1/specs/capabilities").json()["capabilities"]
    names = [c["name"] for c in listed]
    assert {"churn-risk", "churn-challenger"} <= set(names) and names == sorted(names)
    risk = next(c for c in listed if c["name"] == "churn-risk")
    assert risk["spec"] == admin.get("/v1/specs/capabilities/churn-risk").json()["spec"]


def test_the_audit_log_pages_and_filters_by_time(admin):
    everything = admin.get("/v1/audit/records", params={"limit": 1000}).json()["records"]
    assert len(everything) >= 3
    second = admin.get("/v1/audit/records", params={"offset": 1, "limit": 2}).json()["records"]
    assert [r["seq"] for r in second] == [r["seq"] for r in everything[1:3]]
    newest = everything[0]["at"]
    assert [r["seq"] for r in admin.get("/v1/audit/records", params={"since": newest}).json()["records"]] == [
        everything[0]["seq"]
    ]
    before = admin.get("/v1/audit/records", params={"until": newest, "limit": 1000}).json()["records"]
    assert [r["seq"] for r in before] == [r["seq"] for r in everything[1:]]
    early = admin.get("/v1/audit/records", params={"since": "0001-01-01T00:00:00+05:00", "limit": 1000})
    assert [r["seq"] for r in early.json()["records"]] == [r["seq"] for r in everything]
    refused = admin.get("/v1/audit/records", params={"until": "0.5"})
    assert refused.status_code == 422 and "ISO 8601" in refused.json()["message"]


def test_the_policies_in_force_read_as_a_document_that_plans_as_no_change(served, admin):
    answer = admin.get("/v1/policies").json()
    assert [p["name"] for p in answer["policies"]] == ["test_roles"]
    assert yaml.safe_load(answer["document"]) == {"policies": answer["policies"]}
    planned = admin.post("/v1/policies/plan", json={"document": answer["document"]}).json()
    assert planned["steps"] == []
    running, caller = served
    refused = httpx.get(f"{running.url}/v1/policies", headers={"Authorization": f"Bearer {caller}"})
    assert refused.status_code == 403 and "manage_grants" in refused.json()["message"]


def test_a_canary_over_traffic_that_no_longer_serves_is_a_conflict(admin):
    # churn-challenger serves the alias `challenger`, which the world never points: the ramp would keep it.
    answer = admin.post("/v1/capabilities/churn-challenger/traffic/canary", json={"arm": "champion"})
    assert answer.status_code == 409
    assert answer.json()["message"].startswith("the traffic in force cannot take a canary: arm 'challenger'")
