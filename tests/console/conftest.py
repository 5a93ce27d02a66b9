"""The console in a real browser: Debian's Chromium driven by Playwright (never a downloaded browser),
against a real gateway on 127.0.0.1 serving the churn world."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.gateway.conftest import RunningGateway, served_world

CHROMIUM = os.environ.get("ZT_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@dataclass
class Console:
    """A served gateway and the keys of a few roles to sign in with."""

    gateway: RunningGateway
    keys: dict[str, str]

    @property
    def url(self) -> str:
        return f"{self.gateway.url}/console/"


@pytest.fixture(scope="module")
def console(tmp_path_factory) -> Iterator[Console]:
    """The churn world served by a real gateway, with an admin key and one key per other role."""
    tmp_path = tmp_path_factory.mktemp("console")
    with served_world(tmp_path, f"sqlite:///{tmp_path / 'online.db'}", key=("ops", ["admin"])) as running:
        access = running.world.store.access
        keys = {"admin": running.key}
        for role in ("caller", "reviewer", "steward"):
            keys[role] = access.create_key(f"console-{role}", [role])
        yield Console(running, keys)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless; per module, as Playwright's sync API holds an event loop on the main
    thread while it runs, and the tests after the console's need `asyncio.run` there."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `apt-get install -y chromium` (.ci/run does it)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield launched
        launched.close()


def sign_in(browser: Any, console: Console, role: str = "admin", locale: str = "en") -> Any:
    """A new browser context in `locale`, signed in with the role's key; returns the page, on the first
    page of the navigation."""
    context = browser.new_context(
        locale="zh-CN" if locale == "zh" else "en-GB", viewport={"width": 1400, "height": 900}
    )
    page = context.new_page()
    page.goto(console.url)
    page.fill("#credential", console.keys[role])
    page.click("form.login button[type=submit]")
    page.wait_for_selector("nav.side")
    return page


def watch_errors(page: Any) -> list[str]:
    """The page's console errors and uncaught exceptions, collected from now on."""
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors
