"""The console's shell: served with a strict CSP, signs in through /v1/me, draws only the pages the
policy grants, never runs a page it denies, and speaks Chinese and English (remembered)."""

from __future__ import annotations

import httpx

from tests.console.conftest import sign_in


def test_served_under_a_strict_content_security_policy(console):
    bare = httpx.get(f"{console.gateway.url}/console", follow_redirects=False)
    assert bare.status_code == 308 and bare.headers["location"] == "/console/"
    index = httpx.get(console.url)
    assert index.status_code == 200 and 'src="/console/app.js"' in index.text
    assert "script-src 'self'" in index.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in index.headers["content-security-policy"]
    pages = httpx.get(f"{console.gateway.url}/console/pages.json").json()["pages"]
    assert "account.js" in pages


def test_me_names_each_grant_and_its_rule(console):
    url = f"{console.gateway.url}/v1/me"
    assert httpx.get(url).status_code == 401
    caller = httpx.get(url, headers={"Authorization": f"Bearer {console.keys['caller']}"}).json()
    assert caller["name"] == "console-caller" and caller["roles"] == ["caller"]
    admin = httpx.get(url, headers={"Authorization": f"Bearer {console.keys['admin']}"}).json()
    assert admin["actions"]["manage_keys"] == {"allowed": True, "rule": "builtin.admin"}
    assert caller["actions"]["manage_keys"] == {"allowed": False, "rule": "default-deny"}
    assert "see_pii:phone" in caller["actions"]


def test_a_wrong_key_stays_on_the_sign_in_form_with_the_reason(browser, console):
    page = browser.new_context(locale="en-GB").new_page()
    page.goto(console.url)
    page.fill("#credential", "zt_not_a_key")
    page.click("form.login button[type=submit]")
    alert = page.wait_for_selector("form.login [role=alert]")
    assert "did not accept" in alert.inner_text()
    assert page.query_selector("nav.side") is None
    page.context.close()


def test_an_admin_sees_their_grants_and_switches_to_chinese_remembered(browser, console):
    page = sign_in(browser, console, "admin")
    page.click("nav.side a[data-page=account]")
    page.wait_for_selector("#grants tr[data-action=manage_keys]")
    assert "builtin.admin" in page.inner_text("#grants tr[data-action=manage_keys]")
    page.click("#locale")
    page.wait_for_function("document.documentElement.lang === 'zh-CN'")
    page.wait_for_selector("text=我的权限")
    page.reload()
    page.wait_for_selector("nav.side")
    assert page.inner_text("#logout") == "退出"
    assert page.evaluate("window.zt.missingStrings()") == []
    page.context.close()


def test_a_page_the_grants_deny_is_neither_listed_nor_run(browser, console):
    page = sign_in(browser, console, "caller")
    listed = page.eval_on_selector_all("nav.side a[data-page]", "els => els.map(e => e.dataset.page)")
    assert "account" in listed
    loaded = page.evaluate("window.zt.pages()")
    denied = [p for p in loaded if p not in listed]
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/v1/" in r.url else None)
    for name in denied:
        page.goto(f"{console.url}#/{name}")
        page.wait_for_selector("main [role=alert]")
    assert asked == []
    page.context.close()
