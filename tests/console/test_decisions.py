"""The Decisions page in Chromium: the log paged by the API's cursor and filtered on the server, a
decision's full trace (feedback, review, audit record with its digest checked), masked as the API masks it
for the reader; a role without read_audit sees neither the page nor the log."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest

from tests.console.conftest import Console, sign_in, watch_errors
from tests.console.models_world import NEWEST, PHONE, decisions, models_world, role_keys

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def console(tmp_path_factory) -> Iterator[Console]:
    with models_world(
        tmp_path_factory.mktemp("console_decisions"), decision_count=240, reviewed=3
    ) as running:
        yield Console(running, role_keys(running))


def _keys(page) -> list[str]:
    page.wait_for_selector("#decision-table tbody tr[data-key]")
    return page.eval_on_selector_all(
        "#decision-table tbody tr[data-key]", "trs => trs.map(t => t.dataset.key)"
    )


def _cells(page, column: int) -> list[str]:
    selector = f"#decision-table tbody tr[data-key] td:nth-child({column})"
    return page.eval_on_selector_all(selector, "tds => tds.map(t => t.innerText)")


def test_the_log_pages_filters_and_opens_a_trace(browser, console):
    page = sign_in(browser, console, "admin")
    errors = watch_errors(page)
    page.click("nav.side a[data-page=decisions]")
    first = _keys(page)
    assert len(first) == 50
    page.click("#decision-table .pager button:has-text('Next')")
    page.wait_for_selector(f"#decision-table tr[data-key='{first[0]}']", state="detached")
    second = _keys(page)
    assert len(second) == 50 and not set(first) & set(second)
    page.click("#decision-table .pager button:has-text('Previous')")
    page.wait_for_selector(f"#decision-table tr[data-key='{first[0]}']")
    assert _keys(page) == first

    page.fill("#decision-table input[name=capability]", "churn-challenger")
    page.select_option("#decision-table select[name=fallback]", "true")
    page.click("#decision-table form.filters button[type=submit]")
    page.wait_for_selector(f"#decision-table tr[data-key='{first[0]}']", state="detached")
    filtered = _keys(page)
    assert filtered and set(_cells(page, 2)) == {"churn-challenger"}
    assert all(cell == "no_features" for cell in _cells(page, 7))
    expected = httpx.get(
        f"{console.gateway.url}/v1/decisions",
        params={"capability": "churn-challenger", "fallback": "true", "limit": 50},
        headers={"Authorization": f"Bearer {console.keys['admin']}"},
    ).json()["decisions"]
    assert filtered == [d["id"] for d in expected]

    page.click(f"#decision-table tr[data-key='{filtered[0]}']")
    page.wait_for_selector("#trace-audit")
    assert "matches the digest" in page.inner_text("#trace-audit")
    assert PHONE in page.inner_text("#trace-inputs")
    assert "no_features" in page.inner_text("main")
    assert "orders_90d" in page.inner_text("main")  # the explanation, for a reader allowed it
    assert errors == []
    page.context.close()


def test_a_reviewed_decisions_trace_shows_its_verdict(browser, console):
    reviewer = {"Authorization": f"Bearer {console.keys['reviewer']}"}
    items = httpx.get(f"{console.gateway.url}/v1/review/items", headers=reviewer).json()["items"]
    decision_id = items[0]["decision_id"]
    resolved = httpx.post(
        f"{console.gateway.url}/v1/review/items/{decision_id}/resolve",
        json={"verdict": "correct", "value": "stay", "comment": "renewed last week"},
        headers=reviewer,
    )
    assert resolved.status_code == 200
    page = sign_in(browser, console, "admin", "zh")
    errors = watch_errors(page)
    page.goto(f"{console.url}#/decisions/{decision_id}")
    page.wait_for_selector("#trace-feedback")
    assert "renewed last week" in page.inner_text("#trace-feedback")
    assert "correct → stay" in page.inner_text("#trace-review")
    assert "一致" in page.inner_text("#trace-audit")
    page.goto(f"{console.url}#/decisions")
    _keys(page)
    page.check("#auto-refresh")
    (fresh,) = decisions(1)
    fresh = dataclasses.replace(fresh, at=NEWEST + timedelta(minutes=5), capability="churn-risk")
    console.gateway.world.store.decisions.append([fresh])
    page.wait_for_selector(f"#decision-table tbody tr:first-child[data-key='{fresh.id}']", timeout=15_000)
    assert page.evaluate("window.zt.missingStrings()") == []
    assert errors == []
    page.context.close()


def test_a_reader_of_one_capability_sees_only_it_masked(browser, console):
    page = sign_in(browser, console, "auditor")
    errors = watch_errors(page)
    page.click("nav.side a[data-page=decisions]")
    keys = _keys(page)
    assert len(keys) == 50 and set(_cells(page, 2)) == {"churn-risk"}
    page.click(f"#decision-table tr[data-key='{keys[0]}']")
    page.wait_for_selector("#trace-inputs")
    assert "call back on" in page.inner_text("#trace-inputs") and PHONE not in page.content()
    assert "orders_90d" not in page.inner_text("main")  # no see_explanation
    assert errors == []
    page.context.close()


@pytest.mark.parametrize("role", ["reviewer", "steward", "caller"])
def test_a_role_without_read_audit_neither_lists_nor_runs_the_page(browser, console, role):
    page = sign_in(browser, console, role)
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/v1/decisions" in r.url else None)
    listed = page.eval_on_selector_all("nav.side a[data-page]", "els => els.map(e => e.dataset.page)")
    assert "decisions" not in listed
    page.goto(f"{console.url}#/decisions")
    page.wait_for_selector("main [role=alert]")
    assert asked == [] and PHONE not in page.content()
    page.context.close()
