"""The Models page in Chromium: runs side by side showing only their differences, remembered column
choices, a version approved by two principals (the submitter's own approval refused with the API's four-eyes
message), alias moves and rollback with their history, and the card; in both languages, for each role."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.console.conftest import Console, sign_in, watch_errors
from tests.console.models_world import models_world, role_keys

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def console(tmp_path_factory) -> Iterator[Console]:
    with models_world(tmp_path_factory.mktemp("console_models"), decision_count=20, reviewed=0) as running:
        yield Console(running, role_keys(running))


def _api(console: Console, role: str, path: str) -> dict:
    answer = httpx.get(
        f"{console.gateway.url}{path}", headers={"Authorization": f"Bearer {console.keys[role]}"}
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_runs_compare_only_their_differences_and_columns_are_remembered(browser, console):
    page = sign_in(browser, console, "admin")
    errors = watch_errors(page)
    page.click("nav.side a[data-page=models]")
    page.wait_for_selector("#model-list tr[data-model=churn]")
    page.wait_for_selector("#run-table tbody tr[data-key]")
    finished = page.locator("#run-table tbody tr", has_text="finished")
    assert finished.count() == 2
    for i in range(2):
        finished.nth(i).locator("input[type=checkbox]").check()
    page.click("#compare-runs")
    table = page.wait_for_selector("#compare-table")
    shown = table.inner_text()
    assert "param learning_rate" in shown and "model auc" in shown and "dataset customers" in shown
    assert "param num_leaves" not in shown and "dataset orders" not in shown
    page.uncheck("#only-diffs")
    assert "param num_leaves" in page.inner_text("#compare-table")
    page.click("details.column-settings summary")
    page.check("details.column-settings input[name='param:num_leaves']")
    page.wait_for_selector("#run-table th:has-text('num_leaves')")
    page.reload()
    page.wait_for_selector("#run-table tbody tr[data-key]")
    assert page.locator("#run-table th", has_text="num_leaves").count() == 1
    assert errors == []
    page.context.close()


def test_an_approval_needs_two_principals(browser, console):
    modeler = sign_in(browser, console, "modeler")
    errors = watch_errors(modeler)
    modeler.goto(f"{console.url}#/models/churn/3")
    modeler.wait_for_selector("#review-actions")
    modeler.fill("#review-comment", "better AUC on the holdout")
    modeler.click("button[data-step=submit]")
    modeler.wait_for_selector("button[data-step=approve]")
    modeler.click("button[data-step=approve]")
    refusal = modeler.wait_for_selector("#review-problem [role=alert]")
    assert "four eyes" in refusal.inner_text() and "403" in refusal.inner_text()
    assert _api(console, "admin", "/v1/models/churn/versions/3")["status"] == "pending_review"
    assert errors == ["Failed to load resource: the server responded with a status of 403 (Forbidden)"]
    modeler.context.close()

    reviewer = sign_in(browser, console, "reviewer")
    errors = watch_errors(reviewer)
    reviewer.goto(f"{console.url}#/models/churn/3")
    reviewer.wait_for_selector("#reviews li")
    reviewer.fill("#review-comment", "checked the slices")
    reviewer.click("button[data-step=approve]")
    reviewer.wait_for_selector("h1 .badge.ok")
    steps = reviewer.inner_text("#reviews")
    assert "console-modeler" in steps and "console-reviewer" in steps
    body = _api(console, "admin", "/v1/models/churn/versions/3")
    assert body["status"] == "approved"
    assert [(r["action"], r["principal"]) for r in body["reviews"]] == [
        ("submit", "console-modeler"),
        ("approve", "console-reviewer"),
    ]
    assert "Rank customers" in reviewer.inner_text("#card")
    assert errors == []
    reviewer.context.close()


def test_an_alias_moves_and_rolls_back_with_its_history(browser, console):
    headers = {"Authorization": f"Bearer {console.keys['admin']}"}
    base = f"{console.gateway.url}/v1/models/churn/versions/2"
    httpx.post(f"{base}/submit", headers={"Authorization": f"Bearer {console.keys['modeler']}"})
    assert httpx.post(f"{base}/approve", headers=headers).status_code == 200
    page = sign_in(browser, console, "reviewer")
    errors = watch_errors(page)
    page.goto(f"{console.url}#/models/churn")
    page.wait_for_selector("#set-alias")
    page.fill("#set-alias input[name=alias]", "challenger")
    page.select_option("#set-alias select[name=version]", "2")
    page.fill("#set-alias input[name=reason]", "shadow it first")
    page.click("#set-alias button[type=submit]")
    page.click("dialog.modal button.primary")
    page.wait_for_selector("#aliases tr[data-alias=challenger]")
    page.fill("#set-alias input[name=alias]", "challenger")
    page.select_option("#set-alias select[name=version]", "3")
    page.click("#set-alias button[type=submit]")
    page.click("dialog.modal button.primary")
    page.wait_for_selector("#aliases tr[data-alias=challenger]:has-text('v3')")
    page.click("#aliases tr[data-alias=challenger] button.rollback")
    page.fill("dialog.modal input[name=reason]", "v3 slower")
    page.click("dialog.modal button.danger")
    page.wait_for_selector("#aliases tr[data-alias=challenger]:has-text('v2')")
    assert "v3 slower" in page.inner_text("#alias-history")
    moves = _api(console, "admin", "/v1/models/churn/history?alias=challenger")["moves"]
    assert [(m["action"], m["to_version"]) for m in moves] == [("set", 2), ("set", 3), ("rollback", 2)]
    assert moves[-1]["reason"] == "v3 slower" and moves[-1]["principal"] == "console-reviewer"
    # Cancelling the confirmation moves nothing.
    page.click("#aliases tr[data-alias=challenger] button.rollback")
    page.click("dialog.modal button:not(.danger)")
    assert len(_api(console, "admin", "/v1/models/churn/history?alias=challenger")["moves"]) == 3
    assert errors == []
    page.context.close()


@pytest.mark.parametrize("role", ["admin", "reviewer", "steward"])
def test_every_view_renders_in_chinese_without_errors(browser, console, role):
    page = sign_in(browser, console, role, "zh")
    errors = watch_errors(page)
    for hash_, ready in (
        ("#/models", "#run-table tbody tr[data-key]"),
        ("#/models/churn", "#versions tr[data-version]"),
        ("#/models/churn/3", "#card .panel"),
        ("#/models/churn/1", "#card p.muted"),
    ):
        page.goto(f"{console.url}{hash_}")
        page.wait_for_selector(ready)
    assert "模型卡" in page.inner_text("main")
    assert page.evaluate("window.zt.missingStrings()") == []
    assert errors == [], errors
    page.context.close()


def test_a_role_without_read_models_neither_lists_nor_runs_the_page(browser, console):
    page = sign_in(browser, console, "caller")
    asked: list[str] = []
    page.on(
        "request", lambda r: asked.append(r.url) if "/v1/runs" in r.url or "/v1/models" in r.url else None
    )
    listed = page.eval_on_selector_all("nav.side a[data-page]", "els => els.map(e => e.dataset.page)")
    assert "models" not in listed
    page.goto(f"{console.url}#/models/churn/3")
    page.wait_for_selector("main [role=alert]")
    assert asked == []
    page.context.close()
