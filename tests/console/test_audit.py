"""The Audit page in Chromium: the log paged and filtered on the server, its verification (an edited record
shown as broken, in the verdict and in the table), the ECS export as a download; in both locales, with no
console error, and not offered to a role without read_audit."""

from __future__ import annotations

import sqlalchemy as sa

from tests.console.conftest import sign_in, watch_errors


def test_the_log_verifies_filters_and_exports(browser, console):
    page = sign_in(browser, console, "admin")
    errors = watch_errors(page)
    page.click("nav.side a[data-page=audit]")
    page.wait_for_selector("#verify.ok")
    page.wait_for_selector(".datatable tbody tr[data-key]")
    kinds = page.eval_on_selector_all(
        ".datatable tbody tr[data-key] td:nth-child(3)",
        "els => els.map(e => e.querySelector('[title]').title)",
    )
    assert "apply" in kinds and "key_create" in kinds
    page.select_option(".datatable select[name=kind]", "key_create")
    page.click(".datatable form.filters button[type=submit]")
    for _ in range(100):  # the page's CSP forbids the evaluated predicates of wait_for_function
        kinds = page.eval_on_selector_all(
            ".datatable tbody tr[data-key] td:nth-child(3)",
            "els => els.map(e => e.querySelector('[title]').title)",
        )
        if kinds and set(kinds) == {"key_create"}:
            break
        page.wait_for_timeout(100)
    assert set(kinds) == {"key_create"}
    page.click(".datatable tbody tr[data-key] >> nth=0")
    page.wait_for_selector("#record h2")
    assert "key_create" in page.inner_text("#record")

    page.click("#export")
    link = page.wait_for_selector("#export-link a[download]")
    assert link.get_attribute("href").startswith("blob:")
    with page.expect_download() as download:
        link.click()
    lines = download.value.path().read_text(encoding="utf-8").splitlines()
    assert lines and all(line.startswith("{") for line in lines)
    assert errors == []
    page.context.close()


def test_in_chinese_every_string_is_translated(browser, console):
    page = sign_in(browser, console, "admin", "zh")
    errors = watch_errors(page)
    page.goto(f"{console.url}#/audit")
    page.wait_for_selector("#verify.ok")
    page.wait_for_selector(".datatable tbody tr[data-key]")
    assert "校验通过" in page.inner_text("#verify")
    assert page.evaluate("window.zt.missingStrings()") == []
    assert errors == []
    page.context.close()


def test_a_caller_is_not_offered_the_audit_log(browser, console):
    page = sign_in(browser, console, "caller")
    listed = page.eval_on_selector_all("nav.side a[data-page]", "els => els.map(e => e.dataset.page)")
    assert "audit" not in listed
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/v1/audit" in r.url else None)
    page.goto(f"{console.url}#/audit")
    page.wait_for_selector("main [role=alert]")
    assert asked == []
    page.context.close()


def test_an_edited_record_shows_as_broken(browser, console):
    engine = sa.create_engine(console.gateway.world.settings.metadata_url)
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE audit_log SET principal = 'mallory' WHERE seq = 1"))
    engine.dispose()
    page = sign_in(browser, console, "admin")
    errors = watch_errors(page)
    page.goto(f"{console.url}#/audit")
    page.wait_for_selector("#verify.bad")
    assert page.query_selector("#findings tr[data-seq='1']") is not None
    row = page.wait_for_selector(".datatable tbody tr[data-key='1'] .badge.bad")
    assert row.inner_text() == "broken"
    assert errors == []
    page.context.close()
