"""`/v1/runs` pages experiment runs in SQL; runs and versions compare side by side with the differing rows
marked; a version's card is its training run's. All `read_models`."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.console.models_world import models_world, role_keys

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[tuple[object, dict[str, str]]]:
    tmp_path = tmp_path_factory.mktemp("runs_routes")
    with models_world(tmp_path, decision_count=10, reviewed=0) as running:
        yield running, role_keys(running)


def _get(served, role: str, path: str, **params) -> httpx.Response:
    running, keys = served
    return httpx.get(f"{running.url}{path}", params=params, headers={"Authorization": f"Bearer {keys[role]}"})


def test_runs_are_paged_newest_first_with_the_total(served):
    first = _get(served, "steward", "/v1/runs", limit=2).json()
    assert first["total"] == 3 and len(first["runs"]) == 2
    rest = _get(served, "steward", "/v1/runs", limit=2, offset=2).json()
    runs = first["runs"] + rest["runs"]
    assert len({r["id"] for r in runs}) == 3 and sorted(r["status"] for r in runs) == [
        "failed",
        "finished",
        "finished",
    ]
    started = [r["started_at"] for r in runs]
    assert started == sorted(started, reverse=True)
    assert all(r["short_id"] == r["id"][:12] for r in runs)
    assert _get(served, "steward", "/v1/runs", model="churn").json()["total"] == 3
    missing = _get(served, "steward", "/v1/runs", model="nope")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"


def test_runs_compare_marks_the_differing_rows(served):
    runs = _get(served, "modeler", "/v1/runs", limit=3).json()["runs"]
    by_version = {r["version"]: r["id"] for r in runs}
    newer, older = by_version[3], by_version[2]
    body = _get(served, "modeler", "/v1/runs/compare", run=[newer[:8], older]).json()
    rows = {r["label"]: r for r in body["rows"]}
    assert rows["param learning_rate"]["differs"] and rows["param learning_rate"]["values"] == [0.05, 0.1]
    assert not rows["param num_leaves"]["differs"]
    assert rows["model auc"]["values"] == [0.84, 0.81] and rows["model auc"]["section"] == "metric"
    assert rows["dataset customers"]["differs"] and not rows["dataset orders"]["differs"]
    one = _get(served, "modeler", f"/v1/runs/{newer}").json()
    assert one["params"]["learning_rate"] == 0.05 and "card" not in one


def test_versions_compare_through_their_runs_or_themselves(served):
    body = _get(served, "reviewer", "/v1/models/churn/compare", version=[1, 3]).json()
    assert [r["version"] for r in body["runs"]] == [1, 3]
    assert body["runs"][0]["id"] is None and body["runs"][1]["id"]
    rows = {r["label"]: r for r in body["rows"]}
    assert rows["param learning_rate"]["values"] == [None, 0.05] and rows["param learning_rate"]["differs"]


def test_a_card_is_its_training_runs(served):
    card = _get(served, "steward", "/v1/models/churn/versions/3/card").json()
    assert card["version"] == 3 and card["card"]["purpose"].startswith("Rank customers")
    none = _get(served, "steward", "/v1/models/churn/versions/1/card")
    assert none.status_code == 404 and "no model card" in none.json()["message"]


def test_refusals_name_what_is_wrong(served):
    denied = _get(served, "caller", "/v1/runs")
    assert denied.status_code == 403 and "read_models" in denied.json()["message"]
    assert _get(served, "steward", "/v1/runs/not-an-id").status_code == 422
    one = _get(served, "steward", "/v1/runs/compare", run=["abcd"])
    assert one.status_code == 422
    bad = _get(served, "steward", "/v1/runs/compare", run=["abcd", "zz!"])
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_argument"
