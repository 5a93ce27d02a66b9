"""The Capabilities page in Chromium: a traffic split changed in the page is the policy the API then serves,
a capability composed in the form (plan, impact, apply) answers over REST, the try-it form answers from the
capability's OpenAPI schema; in both locales, with no console error, and refused to a role without grants."""

from __future__ import annotations

import time
from typing import Any

import httpx

from tests.console.conftest import sign_in, watch_errors


def _api(console, path: str, role: str = "admin", **kwargs: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {console.keys[role]}"}
    return httpx.request(
        kwargs.pop("method", "GET"), f"{console.gateway.url}{path}", headers=headers, **kwargs
    )


def test_a_split_changed_in_the_page_is_what_the_api_serves(browser, console):
    page = sign_in(browser, console, "admin")
    errors = watch_errors(page)
    page.click("nav.side a[data-page=capabilities]")
    page.wait_for_selector("#capability-list tr[data-key=churn-risk]")
    page.click("#capability-list tr[data-key=churn-risk] a")
    page.wait_for_selector("#split tr.arm-row")
    page.fill("#split tr.arm-row >> nth=0 >> [name=weight]", "80")
    page.click("#split button:has-text('Add an arm')")
    last = "#split tr.arm-row >> nth=1"
    page.fill(f"{last} >> [name=arm]", "blue")
    page.fill(f"{last} >> [name=serves]", "champion")
    page.fill(f"{last} >> [name=weight]", "20")
    page.fill("#split [name=reason]", "console test")
    page.click("#split button[type=submit]")
    page.wait_for_selector("#arms tr[data-arm=blue]")
    served = _api(console, "/v1/capabilities/churn-risk/traffic").json()
    assert served["origin"] == "live"
    assert [(a["name"], a.get("alias"), a.get("version"), a["weight"]) for a in served["policy"]["arms"]] == [
        ("champion", "champion", None, 80.0),
        ("blue", "champion", None, 20.0),
    ]
    assert served["history"][0]["actor"] == "ops" and served["history"][0]["reason"] == "console test"
    assert "80%" in page.inner_text("#arms tr[data-arm=champion]")

    page.click("#reset-split")
    page.click("dialog.modal button.danger")
    page.wait_for_selector("#traffic .badge:has-text('alias alone')")
    assert _api(console, "/v1/capabilities/churn-risk/traffic").json()["origin"] == "alias"
    assert errors == []
    page.context.close()


def test_the_try_it_form_answers_from_the_openapi_schema(browser, console):
    page = sign_in(browser, console, "admin")
    errors = watch_errors(page)
    page.goto(f"{console.url}#/capabilities/churn-risk")
    page.wait_for_selector("#try-customer_id")
    page.fill("#try-customer_id", "1000")
    page.fill("#try-context", '{"channel": "console"}')
    page.click("#try button[type=submit]")
    decision = page.wait_for_selector("#try-answer .decision").inner_text()
    assert decision in ("watch", "retain_offer", "none")
    page.fill("#try-context", "[1]")
    page.click("#try button[type=submit]")
    page.wait_for_selector("#try-answer [role=alert]")
    assert errors == []
    page.context.close()


def test_a_capability_composed_in_the_form_answers_over_rest(browser, console):
    page = sign_in(browser, console, "admin")
    errors = watch_errors(page)
    page.goto(f"{console.url}#/capabilities")
    page.click("#compose")
    page.wait_for_selector("#composer")
    page.fill("#c-name", "churn-console")
    page.fill("#c-description", "Composed in the console")
    page.select_option("#c-model", "churn")
    page.fill("#c-alias", "champion")
    page.fill("#c-input", "customer_id")
    page.fill("#bands tr.band-row >> nth=0 >> [name=decision]", "keep_them")
    page.fill("#bands tr.band-row >> nth=0 >> [name=min_score]", "0.4")
    page.click("#add-band")
    page.fill("#bands tr.band-row >> nth=1 >> [name=decision]", "fine")
    page.fill("#bands tr.band-row >> nth=1 >> [name=min_score]", "0")
    page.fill("#c-fallback", "unknown")
    page.click("#plan")
    page.wait_for_selector("#plan-result .plan-step[data-action=create]")
    assert "new capability" in page.inner_text("#impact").lower()
    assert '"churn-console"' in page.inner_text("#document")
    assert httpx.post(f"{console.gateway.url}/v1/capabilities/churn-console/decide").status_code in (401, 404)
    page.click("#apply")
    page.click("dialog.modal button.primary")
    page.wait_for_url("**#/capabilities/churn-console")
    page.wait_for_selector("#spec-yaml")
    assert "keep_them" in page.inner_text("#spec-yaml")

    deadline = time.monotonic() + 30
    while True:  # every gateway follows the registry within its poll interval
        answer = _api(
            console, "/v1/capabilities/churn-console/decide", method="POST", json={"customer_id": "1001"}
        )
        if answer.status_code != 404 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert answer.status_code == 200, answer.text
    assert answer.json()["decision"] in ("keep_them", "fine")
    [record] = _api(console, "/v1/audit/records", params={"kind": "apply", "object": "churn-console"}).json()[
        "records"
    ]
    assert record["principal"] == "ops"
    assert errors == []
    page.context.close()


def test_editing_shows_the_diff_and_the_replayed_impact(browser, console):
    for key in ("1002", "1003", "1004", "1005"):
        _api(console, "/v1/capabilities/churn-risk/decide", method="POST", json={"customer_id": key})
    page = sign_in(browser, console, "admin", "zh")
    errors = watch_errors(page)
    page.goto(f"{console.url}#/capabilities/churn-risk/edit")
    page.wait_for_selector("#composer #bands tr.band-row")
    rows = page.locator("#bands tr.band-row")
    for index in range(rows.count()):
        page.fill(f"#bands tr.band-row >> nth={index} >> [name=decision]", "everyone")
    deadline = time.monotonic() + 30
    while True:  # the decision log is written in batches, off the answer's path
        page.click("#plan")
        page.wait_for_selector("#impact h2")
        if page.query_selector("#flips") or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert "decisions" in page.inner_text("#plan-result table.diff")
    assert "→ everyone" in page.inner_text("#flips")
    assert page.evaluate("window.zt.missingStrings()") == []
    assert errors == []
    page.context.close()


def test_a_modeler_reads_and_splits_but_cannot_compose_and_a_steward_sees_no_page(browser, console):
    # The churn world's `models` role: read_models and change_traffic, but not apply_specs nor call.
    if "modeler" not in console.keys:
        console.keys["modeler"] = console.gateway.world.store.access.create_key("console-modeler", ["models"])
    page = sign_in(browser, console, "modeler", "zh")
    errors = watch_errors(page)
    page.click("nav.side a[data-page=capabilities]")
    page.wait_for_selector("#capability-list tr[data-key=churn-risk]")
    assert page.query_selector("#compose") is None
    page.goto(f"{console.url}#/capabilities/churn-risk")
    page.wait_for_selector("#arms")
    page.wait_for_selector("#spec-yaml")
    assert page.query_selector("#split") is not None
    assert page.query_selector("#try") is None and page.query_selector("#edit") is None
    page.goto(f"{console.url}#/capabilities/new")
    page.wait_for_selector("main [role=alert]")
    assert page.query_selector("#composer") is None
    assert page.evaluate("window.zt.missingStrings()") == []
    assert errors == []
    page.context.close()

    page = sign_in(browser, console, "steward")
    listed = page.eval_on_selector_all("nav.side a[data-page]", "els => els.map(e => e.dataset.page)")
    assert "capabilities" not in listed
    page.goto(f"{console.url}#/capabilities")
    page.wait_for_selector("main [role=alert]")
    page.context.close()


def test_a_caller_lists_what_serves_and_tries_it(browser, console):
    page = sign_in(browser, console, "caller")
    errors = watch_errors(page)
    page.click("nav.side a[data-page=capabilities]")
    page.wait_for_selector("#capability-list tr[data-key=churn-risk]")
    page.click("#capability-list tr[data-key=churn-risk] a")
    page.wait_for_selector("#try-customer_id")
    assert page.query_selector("#traffic") is None and page.query_selector("#spec") is None
    assert errors == []
    page.context.close()


def test_a_canary_shows_where_its_ramp_stands(browser, console):
    policy = {
        "arms": [
            {"name": "champion", "alias": "champion", "weight": 100},
            {"name": "blue", "alias": "champion", "weight": 0},
        ],
        "shadows": [],
        "canary": {"arm": "blue", "steps": [5, 50], "step_every": "1h", "complete": "hold"},
    }
    # A rolled-back ramp, as a gateway's canary controller records it when a guard trips.
    state = {
        "step": 1,
        "since": "2026-03-03T10:00:00+00:00",
        "status": "rolled_back",
        "reason": "error rate 0.2 > 0.01",
    }
    console.gateway.world.store.traffic.set(
        "churn-risk", policy, "canary-controller", "guard tripped", state=state
    )
    served = _api(console, "/v1/capabilities/churn-risk/traffic").json()
    assert served["canary_state"] == state
    page = sign_in(browser, console, "admin")
    errors = watch_errors(page)
    page.goto(f"{console.url}#/capabilities/churn-risk")
    shown = page.wait_for_selector("#canary-state").inner_text()
    assert "rolled back" in shown and "step 2 of 2 (50 %)" in shown and "error rate 0.2" in shown
    assert errors == []
    page.context.close()
    _api(console, "/v1/capabilities/churn-risk/traffic", method="DELETE", json={"reason": "test done"})
