"""`GET /v1/decisions` pages the log with a keyset cursor, filters in SQL through an index, and keeps to the
capabilities the reader may read; `GET /v1/decisions/{id}/trace` gives a decision's feedback, review item
and audit record, masked for the reader."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import sqlalchemy as sa

from tests.console.models_world import NEWEST, PHONE, TIES, models_world, role_keys
from zhongtai.meta.access import DecisionFilter
from zhongtai.meta.tables import SqlDecision

pytestmark = pytest.mark.integration

COUNT = 20_000


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[tuple[object, dict[str, str]]]:
    tmp_path = tmp_path_factory.mktemp("decision_log")
    with models_world(tmp_path, decision_count=COUNT, reviewed=5) as running:
        yield running, role_keys(running)


def _get(served, role: str, path: str, **params) -> httpx.Response:
    running, keys = served
    return httpx.get(
        f"{running.url}{path}", params=params, headers={"Authorization": f"Bearer {keys[role]}"}, timeout=60
    )


def test_the_cursor_pages_through_every_decision_exactly_once(served):
    seen: list[str] = []
    cursor = None
    previous = None
    while True:
        params = {"limit": 200, **({"before": cursor} if cursor else {})}
        page = _get(served, "admin", "/v1/decisions", **params).json()
        for d in page["decisions"]:
            key = (d["at"], d["id"])
            assert previous is None or key < previous  # newest first, ids breaking ties
            previous = key
            seen.append(d["id"])
        cursor = page["next"]
        if cursor is None:
            break
    assert len(seen) == COUNT and len(set(seen)) == COUNT


def test_filters_are_applied_in_the_query(served):
    page = _get(
        served, "admin", "/v1/decisions", capability="churn-risk", fallback="true", arm="champion",
        model_version=2, limit=200,
    ).json()  # fmt: skip
    found = page["decisions"]
    assert found and all(
        d["capability"] == "churn-risk"
        and d["fallback"]
        and d["arm"] == "champion"
        and d["model"]["version"] == 2
        for d in found
    )
    assert all(d["fallback_reason"] == "no_features" for d in found)
    window = _get(
        served,
        "admin",
        "/v1/decisions",
        since="2026-12-01T11:59:58Z",
        until="2026-12-01T12:00:00Z",
        limit=200,
    ).json()["decisions"]
    assert len(window) == 2 * TIES  # the two seconds before NEWEST, TIES decisions each
    routed = _get(served, "admin", "/v1/decisions", routed="true", limit=50).json()
    assert len(routed["decisions"]) == 5 and routed["next"] is None
    assert all(d["output"]["route"] == "human_review" for d in routed["decisions"])
    answered = _get(served, "admin", "/v1/decisions", routed="false", limit=200).json()["decisions"]
    assert len(answered) == 200 and all(d["output"] is None for d in answered)
    outcome = _get(served, "admin", "/v1/decisions", decision="retain_offer", limit=50).json()["decisions"]
    assert outcome and {d["decision"] for d in outcome} == {"retain_offer"}


def test_a_page_reads_the_keyset_index(served):
    running, _ = served
    store = running.world.store
    where = DecisionFilter(capability="churn-risk", before=(NEWEST, "z"))
    query = (
        sa.select(SqlDecision.id)
        .where(SqlDecision.capability == where.capability, SqlDecision.at <= NEWEST)
        .order_by(SqlDecision.at.desc(), SqlDecision.id.desc())
        .limit(50)
    )
    compiled = query.compile(store.engine, compile_kwargs={"literal_binds": True})
    with store.engine.connect() as conn:
        plan = " ".join(str(row) for row in conn.execute(sa.text(f"EXPLAIN QUERY PLAN {compiled}")))
    assert "ix_decisions_capability_at_id" in plan and "TEMP B-TREE" not in plan
    assert len(store.decisions.page(where, 50)) == 50


def test_a_reader_of_one_capability_pages_only_it_and_sees_no_phone(served):
    page = _get(served, "auditor", "/v1/decisions", limit=200).json()
    assert len(page["decisions"]) == 200 and page["next"]
    assert {d["capability"] for d in page["decisions"]} == {"churn-risk"}
    assert PHONE not in str(page) and "explanation" not in page["decisions"][0]
    denied = _get(served, "auditor", "/v1/decisions", capability="churn-challenger")
    assert denied.status_code == 403 and denied.json()["code"] == "forbidden"
    assert _get(served, "reviewer", "/v1/decisions").status_code == 403
    admin = _get(served, "admin", "/v1/decisions", limit=5).json()["decisions"]
    assert PHONE in admin[0]["inputs"]["note"] and "explanation" in admin[0]


def test_a_denied_capability_stays_out_of_a_readers_pages(served):
    page = _get(served, "wide_auditor", "/v1/decisions", limit=200).json()
    assert len(page["decisions"]) == 200 and page["next"]
    assert {d["capability"] for d in page["decisions"]} == {"churn-risk"}


def test_a_bad_cursor_is_a_422_naming_the_parameter(served):
    bad = _get(served, "admin", "/v1/decisions", before="yesterday,abc")
    assert bad.status_code == 422 and "before" in bad.text


def test_the_trace_has_feedback_review_and_the_audit_record(served):
    running, keys = served
    item = _get(served, "reviewer", "/v1/review/items", capability="churn-risk", limit=1).json()["items"][0]
    decision_id = item["decision_id"]
    resolved = httpx.post(
        f"{running.url}/v1/review/items/{decision_id}/resolve",
        json={"verdict": "accept", "comment": "called, they stay"},
        headers={"Authorization": f"Bearer {keys['reviewer']}"},
    )
    assert resolved.status_code == 200
    trace = _get(served, "admin", f"/v1/decisions/{decision_id}/trace").json()
    assert trace["decision"]["id"] == decision_id
    assert trace["review"]["status"] == "done" and trace["review"]["verdict"] == "accept"
    assert [f["kind"] for f in trace["feedback"]] and trace["feedback"][0]["principal"] == "console-reviewer"
    assert trace["audit"]["matches"] is True and trace["audit"]["seq"] >= 1
    assert PHONE in trace["decision"]["inputs"]["note"]
    masked = _get(served, "auditor", f"/v1/decisions/{decision_id}/trace")
    assert (
        masked.status_code == 200
        and PHONE not in masked.text
        and "explanation" not in masked.json()["decision"]
    )
    other = _get(served, "reviewer", "/v1/review/items", capability="churn-challenger", limit=1).json()[
        "items"
    ][0]
    assert _get(served, "auditor", f"/v1/decisions/{other['decision_id']}/trace").status_code == 403
    assert _get(served, "admin", "/v1/decisions/nope/trace").status_code == 404
