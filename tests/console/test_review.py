"""The Review queue in Chromium, worked from the keyboard: j/k move the visible focus, Enter opens an item
beside the list, `a` accepts and `c` corrects; the API then shows the item resolved with the verdict as
feedback. Masking and grants as the API applies them."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.console.conftest import Console, sign_in, watch_errors
from tests.console.models_world import PHONE, models_world, role_keys

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def console(tmp_path_factory) -> Iterator[Console]:
    with models_world(tmp_path_factory.mktemp("console_review"), decision_count=60, reviewed=8) as running:
        yield Console(running, role_keys(running))


def _api(console: Console, role: str, path: str, **params) -> dict:
    answer = httpx.get(
        f"{console.gateway.url}{path}",
        params=params,
        headers={"Authorization": f"Bearer {console.keys[role]}"},
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def _focused(page) -> str:
    return page.eval_on_selector("#review-table tr.selected", "tr => tr.dataset.key")


def test_a_verdict_from_the_keyboard_reaches_the_api(browser, console):
    page = sign_in(browser, console, "reviewer")
    errors = watch_errors(page)
    page.click("nav.side a[data-page=review]")
    page.wait_for_selector("#review-table tbody tr[data-key]")
    keys = page.eval_on_selector_all("#review-table tbody tr[data-key]", "trs => trs.map(t => t.dataset.key)")
    assert len(keys) == 8 and _focused(page) == keys[0]
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("k")
    assert _focused(page) == keys[1]
    assert page.evaluate("document.activeElement.dataset.key") == keys[1]
    page.keyboard.press("Enter")
    page.wait_for_selector(f"#review-detail [data-item='{keys[1]}']")
    detail = page.inner_text("#review-detail")
    assert "churn" in detail and "call back on" in detail and PHONE not in detail  # no see_pii:phone
    page.keyboard.press("a")
    page.wait_for_selector(f"#review-detail [data-item='{keys[1]}']", state="detached")
    page.wait_for_selector(f"#review-table tr[data-key='{keys[1]}']", state="detached")
    item = _api(console, "reviewer", f"/v1/review/items/{keys[1]}")
    assert (
        item["status"] == "done" and item["verdict"] == "accept" and item["resolved_by"] == "console-reviewer"
    )

    # Correct the next one: c puts the cursor in the class field, Enter sends it.
    next_key = _focused(page)
    page.keyboard.press("Enter")
    page.wait_for_selector(f"#review-detail [data-item='{next_key}']")
    page.keyboard.press("c")
    assert page.evaluate("document.activeElement.id") == "verdict-value"
    page.keyboard.type("churned")
    page.keyboard.press("Enter")
    page.wait_for_selector(f"#review-detail [data-item='{next_key}']", state="detached")
    corrected = _api(console, "reviewer", f"/v1/review/items/{next_key}")
    assert corrected["verdict"] == "correct" and corrected["value"] == "churned"
    trace = _api(console, "admin", f"/v1/decisions/{next_key}/trace")
    assert {f["kind"]: f["value"] for f in trace["feedback"]} == {"verdict": "churned", "label": "churned"}
    assert _api(console, "reviewer", "/v1/review/items", pending="true")["total"] == 6
    page.keyboard.press("?")
    assert page.is_visible("#review-help")
    assert errors == []
    page.context.close()


def test_claim_and_the_done_filter(browser, console):
    page = sign_in(browser, console, "admin")
    errors = watch_errors(page)
    page.goto(f"{console.url}#/review")
    page.wait_for_selector("#review-table tbody tr[data-key]")
    first = _focused(page)
    page.click(f"#review-table tr[data-key='{first}']")
    page.click("#claim")
    page.wait_for_selector(f"#review-table tr[data-key='{first}']:has-text('ops')")
    assert _api(console, "admin", f"/v1/review/items/{first}")["assignee"] == "ops"
    page.select_option("#review-table select[name=status]", "done")
    page.click("#review-table form.filters button[type=submit]")
    page.wait_for_selector("#review-table tbody tr[data-key]:has-text('done')")
    statuses = page.eval_on_selector_all(
        "#review-table tbody tr[data-key] td:nth-child(3)", "tds => tds.map(t => t.innerText)"
    )
    assert statuses == ["done", "done"]
    assert errors == []
    page.context.close()


def test_an_admin_sees_what_a_reviewer_may_not(browser, console):
    page = sign_in(browser, console, "admin")
    page.goto(f"{console.url}#/review")
    page.wait_for_selector("#review-table tbody tr[data-key]")
    page.keyboard.press("Enter")
    page.wait_for_selector("#review-detail [data-item]")
    assert PHONE in page.inner_text("#review-detail")
    page.context.close()


def test_in_chinese_without_missing_strings(browser, console):
    page = sign_in(browser, console, "reviewer", "zh")
    errors = watch_errors(page)
    page.goto(f"{console.url}#/review")
    page.wait_for_selector("#review-table tbody tr[data-key]")
    page.keyboard.press("Enter")
    page.wait_for_selector("#review-detail [data-item]")
    assert "认可" in page.inner_text("#review-detail")
    assert page.evaluate("window.zt.missingStrings()") == []
    assert errors == []
    page.context.close()


@pytest.mark.parametrize("role", ["steward", "caller", "auditor"])
def test_roles_without_review_neither_list_nor_run_the_page(browser, console, role):
    page = sign_in(browser, console, role)
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/v1/review" in r.url else None)
    listed = page.eval_on_selector_all("nav.side a[data-page]", "els => els.map(e => e.dataset.page)")
    assert "review" not in listed
    page.goto(f"{console.url}#/review")
    page.wait_for_selector("main [role=alert]")
    assert asked == []
    page.context.close()
