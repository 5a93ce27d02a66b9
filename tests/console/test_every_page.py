"""Every page of the console, opened by every role of the retail policy in both languages: each page the
navigation lists renders without an uncaught error or a failed call other than a refusal it shows, every
string exists in the language, and no page the role's grants deny is listed or run."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.console.conftest import sign_in, watch_errors
from tests.console.data_world import DataWorld, data_world

pytestmark = pytest.mark.e2e

ROLES = ("admin", "analyst", "steward", "caller", "reviewer")


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[DataWorld]:
    with data_world(tmp_path_factory.mktemp("console_every_page")) as built:
        yield built


@pytest.mark.parametrize("locale", ["en", "zh"])
@pytest.mark.parametrize("role", ROLES)
def test_every_listed_page_renders_for_the_role(browser, world, role, locale):
    page = sign_in(browser, world, role, locale)
    errors = watch_errors(page)
    failed: list[str] = []
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 500 else None)
    listed = page.eval_on_selector_all("nav.side a[data-page]", "els => els.map(e => e.dataset.page)")
    loaded = page.evaluate("window.zt.pages()")
    assert "account" in listed and set(listed) <= set(loaded)
    for name in listed:
        page.click(f"nav.side a[data-page={name}]")
        page.wait_for_selector(f"section.page[data-page={name}]")
        page.wait_for_load_state("networkidle")
        assert page.locator("section.page").inner_text().strip(), f"{name} rendered nothing for {role}"
    for name in set(loaded) - set(listed):
        page.goto(f"{world.url}#/{name}")
        page.wait_for_selector("main [role=alert]")
    uncaught = [e for e in errors if not e.startswith("Failed to load resource")]
    assert uncaught == [], (role, uncaught)
    assert failed == [], failed
    if locale == "zh":
        assert page.evaluate("window.zt.missingStrings()") == []
    page.context.close()


def test_the_roles_see_different_consoles(browser, world):
    # The navigation follows the grants: an admin sees every page, a caller far fewer, and each listed
    # page is one whose action /v1/me grants.
    seen = {}
    for role in ("admin", "caller"):
        page = sign_in(browser, world, role)
        seen[role] = page.eval_on_selector_all("nav.side a[data-page]", "els => els.map(e => e.dataset.page)")
        page.context.close()
    assert set(seen["caller"]) < set(seen["admin"])
    me = httpx.get(f"{world.gateway.url}/v1/me", headers={"Authorization": f"Bearer {world.keys['caller']}"})
    granted = {action for action, grant in me.json()["actions"].items() if grant["allowed"]}
    assert "read_audit" not in granted and "decisions" not in seen["caller"]
