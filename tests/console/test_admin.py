"""The Admin page in Chromium: a key created (its secret shown once, and working), rotated and revoked
through the page with confirmation; the policies planned and applied as a document, a lockout refused with
the API's reason; workspaces; in both locales, with no console error, and not offered to a caller."""

from __future__ import annotations

from typing import Any

import httpx

from tests.console.conftest import sign_in, watch_errors


def _keys(console) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {console.keys['admin']}"}
    found = httpx.get(f"{console.gateway.url}/v1/keys", headers=headers).json()["keys"]
    return {key["name"]: key for key in found}


def test_a_key_is_created_rotated_and_revoked_through_the_page(browser, console):
    page = sign_in(browser, console, "admin")
    errors = watch_errors(page)
    page.click("nav.side a[data-page=admin]")
    page.wait_for_selector("#keys tr[data-key=ops]")
    page.fill("#key-name", "made-in-console")
    page.fill("#key-roles", "caller")
    page.fill("#key-owner", "console test")
    page.fill("#key-expires", "30d")
    page.click("#create-key button[type=submit]")
    secret = page.wait_for_selector("#secret-value").inner_text()
    page.wait_for_selector("#keys tr[data-key=made-in-console]")
    me = httpx.get(f"{console.gateway.url}/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert me.status_code == 200 and me.json()["name"] == "made-in-console"
    made = _keys(console)["made-in-console"]
    assert made["roles"] == ["caller"] and made["owner"] == "console test" and made["expires_at"]
    assert secret.startswith(made["prefix"])

    page.click("#keys tr[data-key=made-in-console] button.rotate")
    page.fill("dialog.modal input", "1h")
    page.click("dialog.modal button.primary")
    for _ in range(100):  # the page's CSP forbids the evaluated predicates of wait_for_function
        if page.inner_text("#secret-value") != secret:
            break
        page.wait_for_timeout(100)
    assert page.inner_text("#secret-value") != secret
    assert _keys(console)["made-in-console"]["previous_until"]

    page.click("#keys tr[data-key=made-in-console] button.revoke")
    page.click("dialog.modal button:has-text('Cancel')")
    assert _keys(console)["made-in-console"]["revoked_at"] is None
    page.click("#keys tr[data-key=made-in-console] button.revoke")
    page.click("dialog.modal button.danger")
    page.wait_for_selector("#keys tr[data-key=made-in-console] .badge.bad")
    assert _keys(console)["made-in-console"]["revoked_at"]
    assert errors == []
    page.context.close()


LOCKOUT = """
- name: lockout
  rules:
  - {name: nobody_governs, principals: ["role:admin"], actions: [manage_grants], effect: deny}
"""
READERS = """
- name: console_readers
  rules:
  - {name: readers, principals: ["role:reader"], actions: [read_models]}
  workspaces:
  - {name: crm, capabilities: ["churn-*"], models: [churn]}
"""


def test_grants_are_planned_applied_and_a_lockout_is_refused(browser, console):
    page = sign_in(browser, console, "admin")
    errors = watch_errors(page)
    page.goto(f"{console.url}#/admin/grants")
    page.wait_for_selector("#rules tr[data-rule='test_roles.callers']")
    document = page.input_value("#policies-document")
    page.fill("#policies-document", document + LOCKOUT)
    page.click("#plan-grants")
    alert = page.wait_for_selector("#grants-plan [role=alert]").inner_text()
    assert "denies manage_grants to the admin role" in alert and "409" in alert

    page.fill("#policies-document", document + READERS)
    page.click("#plan-grants")
    page.wait_for_selector("#grants-plan .plan-step[data-action=create][data-name=console_readers]")
    page.click("#apply-grants")
    page.click("dialog.modal button.primary")
    page.wait_for_selector("#rules tr[data-rule='console_readers.readers']")
    page.click("nav.tabs a[data-tab=workspaces]")
    page.wait_for_selector("#workspaces tr[data-workspace=crm]")
    assert "churn-*" in page.inner_text("#workspaces tr[data-workspace=crm]")
    assert errors == [] or all("409" in e for e in errors)
    page.context.close()


def test_in_chinese_every_string_is_translated(browser, console):
    page = sign_in(browser, console, "admin", "zh")
    errors = watch_errors(page)
    for tab, selector in (("keys", "#keys"), ("grants", "#rules"), ("workspaces", "#admin-workspaces")):
        page.goto(f"{console.url}#/admin/{tab}")
        page.wait_for_selector(selector)
    assert page.evaluate("window.zt.missingStrings()") == []
    assert errors == []
    page.context.close()


def test_a_caller_does_not_see_the_admin_page(browser, console):
    page = sign_in(browser, console, "caller")
    listed = page.eval_on_selector_all("nav.side a[data-page]", "els => els.map(e => e.dataset.page)")
    assert "admin" not in listed
    asked: list[str] = []
    page.on(
        "request", lambda r: asked.append(r.url) if "/v1/keys" in r.url or "/v1/policies" in r.url else None
    )
    page.goto(f"{console.url}#/admin")
    page.wait_for_selector("main [role=alert]")
    assert asked == [] and page.query_selector("#keys") is None
    page.context.close()
