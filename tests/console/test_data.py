"""The Data page in Chromium: catalog search to a dataset, its schema a page at a time (a 300-column table
never renders whole), quality with quarantined rows masked by role, versions, and a preview whose columns
the reader chooses; in both languages, with no console error, and not listed for a role without the grant."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from tests.console.conftest import sign_in, watch_errors
from tests.console.data_world import MASKED_PHONE, DataWorld, data_world

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[DataWorld]:
    with data_world(tmp_path_factory.mktemp("console_data")) as built:
        yield built


@pytest.mark.parametrize("locale", ["en", "zh"])
def test_search_opens_a_dataset_with_schema_quality_versions_and_preview(browser, world, locale):
    page = sign_in(browser, world, "admin", locale)
    errors = watch_errors(page)
    page.goto(f"{world.url}#/data")
    page.fill("form.filters input[name=q]", "crm")
    page.click("form.filters button[type=submit]")
    page.wait_for_selector("tr[data-key=crm_orders]")
    page.click("tr[data-key=crm_customers]")
    page.wait_for_selector("#preview tbody tr")
    expect(page.locator("#schema tbody tr")).to_have_count(9)
    page.select_option("#schema select[name=pii]", "true")
    page.click("#schema form.filters button[type=submit]")
    expect(page.locator("#schema tbody tr")).to_have_count(3)
    assert page.inner_text("#quarantined") == "1"
    assert "火星" in page.inner_text("#quarantine")
    assert page.locator("#versions tbody tr").count() == 1
    assert "13800000000" in page.inner_text("#preview")  # an admin sees every class in clear
    assert errors == []
    assert page.evaluate("window.zt.missingStrings()") == []


def test_an_analyst_sees_phones_masked_in_preview_and_quarantine(browser, world):
    page = sign_in(browser, world, "analyst")
    errors = watch_errors(page)
    page.goto(f"{world.url}#/data/crm_customers")
    page.wait_for_selector("#preview tbody tr")
    page.wait_for_selector("#quarantine")
    assert MASKED_PHONE in page.inner_text("#preview")
    assert "13800000000" not in page.content() and "13700000000" not in page.content()
    assert page.locator("#preview th .badge").count() == 3  # mobile, full_name, email marked masked
    assert errors == []


def test_a_wide_table_pages_its_schema_and_previews_chosen_columns(browser, world):
    page = sign_in(browser, world, "steward")
    errors = watch_errors(page)
    page.goto(f"{world.url}#/data/wide_events")
    page.wait_for_selector("#preview tbody tr")
    assert page.locator("#schema tbody tr").count() == 25
    assert page.locator("#preview thead th").count() == 12
    page.click("#choose-columns")
    page.fill(".chooser input[type=search]", "event_29")
    page.check(".chooser input[value=event_299]")
    expect(page.locator("#preview thead th")).to_have_count(13)
    assert "event_299" in page.inner_text("#preview thead")
    page.click("#schema .pager button:nth-child(3)")
    page.wait_for_selector("#schema tr[data-key=event_025]")
    assert page.locator("#schema tbody tr").count() == 25
    assert errors == []


@pytest.mark.parametrize("role", ["caller", "reviewer"])
def test_a_role_without_catalog_grant_gets_no_data_page(browser, world, role):
    page = sign_in(browser, world, role)
    assert page.locator("nav.side a[data-page=data]").count() == 0
    page.goto(f"{world.url}#/data/crm_customers")
    page.wait_for_selector("main .error")
    assert "crm-team" not in page.content() and "13800000000" not in page.content()


def test_a_blocked_run_is_reported_beside_the_version_it_left_current(browser, world):
    page = sign_in(browser, world, "analyst", "zh")
    errors = watch_errors(page)
    page.goto(f"{world.url}#/data/crm_vip")
    page.wait_for_selector("#blocked")
    assert "50%" in page.inner_text("#blocked")
    expect(page.locator("#versions tbody tr")).to_have_count(2)
    assert errors == []
    assert page.evaluate("window.zt.missingStrings()") == []
