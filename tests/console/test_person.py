"""The Person 360° page in Chromium: found by a source record, then the golden record, the rows in every
source system, why a record was linked, tags with history, online features and decisions; masked by role
(a steward sees the phone, an analyst a mask, a caller without the grant no page at all), in both
languages and with no console error."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from tests.console.conftest import sign_in, watch_errors
from tests.console.data_world import MASKED_PHONE, PHONE, DataWorld, data_world

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[DataWorld]:
    with data_world(tmp_path_factory.mktemp("console_person")) as built:
        yield built


@pytest.mark.parametrize("locale", ["en", "zh"])
def test_an_admin_finds_a_person_by_a_source_record_and_sees_every_side(browser, world, locale):
    page = sign_in(browser, world, "admin", locale)
    errors = watch_errors(page)
    page.goto(f"{world.url}#/person")
    page.fill("#person-query", "crm_orders:O0-0")
    page.click("form.filters button[type=submit]")
    page.wait_for_selector("#decisions")
    assert f"#/person/person/{world.person}" in page.url
    expect(page.locator("#rows-crm_customers tbody tr")).to_have_count(1)
    expect(page.locator("#rows-crm_orders tbody tr")).to_have_count(1)
    assert PHONE in page.inner_text("#rows-crm_customers")
    expect(page.locator("#tags tr[data-tag=repeat_buyer]")).to_have_count(1)
    expect(page.locator("#features tbody tr")).to_have_count(1)
    assert "orders" in page.inner_text("#features")
    expect(page.locator("#decisions tbody tr")).to_have_count(2)  # the second person's decision is not theirs
    page.click("#explain-panel button[data-record='crm_orders:O0-0']")
    page.wait_for_selector("#explanation table")
    assert "crm_customers:C0" in page.inner_text("#explanation")
    assert errors == []
    assert page.evaluate("window.zt.missingStrings()") == []


def test_tags_show_their_history(browser, world):
    page = sign_in(browser, world, "steward")
    errors = watch_errors(page)
    page.goto(f"{world.url}#/person/person/{world.second}")
    page.wait_for_selector("#tags")
    expect(page.locator("#tags tr[data-tag=repeat_buyer] li")).to_have_count(1)  # gained at the first build
    assert page.locator("#tags tr[data-tag=repeat_buyer] .badge.ok").count() == 1  # carried now
    page.goto(f"{world.url}#/person/person/{world.person}")
    expect(page.locator("#tags tr[data-tag=vip] li")).to_have_count(2)  # gained, then lost
    assert page.locator("#tags tr[data-tag=vip] .badge.ok").count() == 0
    assert errors == []


def test_a_steward_sees_the_phone_an_analyst_a_mask(browser, world):
    seen = {}
    for role in ("steward", "analyst"):
        page = sign_in(browser, world, role)
        errors = watch_errors(page)
        page.goto(f"{world.url}#/person/person/{world.person}")
        page.wait_for_selector("#rows-crm_orders")
        page.wait_for_selector("#golden")
        page.wait_for_selector("#tags")
        seen[role] = page.content()
        # Neither holds read_audit nor read_features: those sections are not asked for.
        assert "read_audit" in page.inner_text("#decisions-panel")
        assert errors == []
    assert PHONE in seen["steward"]
    assert PHONE not in seen["analyst"] and MASKED_PHONE in seen["analyst"]
    assert "王伟敏" in seen["steward"] and "王伟敏" not in seen["analyst"]


@pytest.mark.parametrize("role", ["caller", "reviewer"])
def test_a_role_without_the_grant_gets_no_person_page(browser, world, role):
    page = sign_in(browser, world, role)
    assert page.locator("nav.side a[data-page=person]").count() == 0
    page.goto(f"{world.url}#/person/person/{world.person}")
    page.wait_for_selector("main .error")
    assert PHONE not in page.content() and MASKED_PHONE not in page.content()
