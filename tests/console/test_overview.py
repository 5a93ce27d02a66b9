"""The Overview and Monitoring pages in Chromium against a real gateway over a world with decisions, drift
checks, a flywheel run and alerts: the figures shown are the store's, attention items link to the pages that
act on them, both languages are complete, nothing logs an error, a narrow grant sees only its capability,
a role without read_models gets neither page, and an alert resolves after a confirmation."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.console.conftest import Console
from tests.console.conftest import sign_in as shell_sign_in
from tests.console.monitoring_world import (
    BATCHES,
    CALLS,
    FALLBACKS,
    LAST_HOUR_CALLS,
    Served,
    served_monitoring,
)

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[Served]:
    with served_monitoring(tmp_path_factory.mktemp("console_monitoring")) as found:
        yield found


def sign_in(browser: Any, served: Served, role: str, locale: str = "en") -> tuple[Any, list[str]]:
    """A signed-in page in `locale` and the console errors it logs from then on (the shell's missing
    favicon aside: the browser asks for it by itself)."""
    page = shell_sign_in(browser, Console(served.running, served.keys), role, locale)
    errors: list[str] = []

    def on_console(message: Any) -> None:
        if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico"):
            errors.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return page, errors


def _open(page: Any, served: Served, route: str, ready: str) -> None:
    page.goto(f"{served.running.url}/console/{route}")
    page.wait_for_selector(ready)


def test_an_admin_sees_the_stores_figures_and_what_needs_attention(browser, served):
    page, errors = sign_in(browser, served, "admin")
    assert (
        page.eval_on_selector_all("nav.side a[data-page]", "els => els.map(e => e.dataset.page)")[0]
        == "overview"
    )
    _open(page, served, "#/overview", "#capabilities tr[data-capability=churn-risk]")
    row = "#capabilities tr[data-capability=churn-risk]"
    assert page.inner_text(f"{row} td[data-field=calls]") == f"{CALLS}"
    assert page.inner_text(f"{row} td[data-field=p50]") == "38 ms"
    assert page.inner_text(f"{row} td[data-field=p99]") == "100 ms"
    assert page.inner_text(f"{row} td[data-field=fallbacks]").startswith(f"{FALLBACKS * len(BATCHES)} (20%)")
    assert page.inner_text(f"{row} td[data-field=drift]") == "major drift"
    assert page.inner_text(f"{row} td[data-field=quality]").startswith("AUC ")
    assert "retained 10" in page.inner_text(f"{row} td[data-field=roi]")
    links = page.eval_on_selector_all(
        "#attention li", "els => els.map(e => [e.dataset.kind, e.querySelector('a').getAttribute('href')])"
    )
    assert ["approval", f"#/models/churn/{served.monitored.pending}"] in links
    assert ["review", "#/review?overdue=1"] in links
    assert ["alert", "#/monitoring/churn-risk"] in links
    assert ["dataset", "#/data/crm_customers"] in links
    assert page.inner_text("#total-alerts .figure") == "2"
    assert page.query_selector("#calls-chart svg rect[data-label=churn-risk] title") is not None
    page.click("button[data-window='1h']")
    page.wait_for_function(
        "([sel, want]) => document.querySelector(sel)?.textContent === want",
        arg=[f"{row} td[data-field=calls]", str(LAST_HOUR_CALLS)],
    )
    assert "window=1h" in page.url
    assert errors == []
    page.context.close()


def test_monitoring_charts_drift_quality_and_the_flywheel_timeline(browser, served):
    page, errors = sign_in(browser, served, "admin")
    _open(page, served, "#/monitoring/churn-risk", "#drift-chart svg polyline[data-series=spend_90d]")
    assert "major" in page.inner_text("#drift-latest tr[data-feature=spend_90d]")
    tips = page.eval_on_selector_all("#drift-chart circle[data-series=spend_90d] title", "els => els.length")
    assert tips == len(BATCHES)
    flagged = page.eval_on_selector_all(
        "#drift-chart circle[data-flagged]", "els => els.map(e => e.dataset.series)"
    )
    assert flagged == ["spend_90d", "spend_90d"]  # the two later checks; the first found nothing
    page.click("button[data-metric=psi]")
    page.wait_for_selector("#drift-chart svg[aria-label^='PSI']")
    page.wait_for_selector("#quality-chart svg circle")
    steps = page.eval_on_selector_all(
        f"#flywheel article[data-run='{served.monitored.run}'] ol.timeline li",
        "els => els.map(e => e.dataset.state)",
    )
    assert steps == ["triggered", "trained", "awaiting_approval"]
    page.wait_for_selector("#alerts tbody tr[data-key]")
    assert page.eval_on_selector_all("#alerts tbody tr[data-key]", "els => els.length") == 2
    assert errors == []
    page.context.close()


def test_both_pages_speak_chinese_without_a_missing_string(browser, served):
    page, errors = sign_in(browser, served, "admin", "zh")
    _open(page, served, "#/overview", "#capabilities tr[data-capability=churn-risk]")
    assert "待处理事项" in page.inner_text("main")
    assert page.inner_text("#capabilities tr[data-capability=churn-risk] td[data-field=drift]") == "严重漂移"
    _open(page, served, "#/monitoring/churn-risk", "#drift-chart svg")
    page.wait_for_selector("#flywheel ol.timeline li")
    page.wait_for_selector("#alerts tbody tr[data-key]")
    assert "飞轮时间线" in page.inner_text("main")
    _open(page, served, "#/monitoring", "#alerts tbody tr[data-key]")
    assert page.evaluate("window.zt.missingStrings()") == []
    assert errors == []
    page.context.close()


def test_a_role_without_read_models_gets_neither_page(browser, served):
    page, errors = sign_in(browser, served, "caller")
    listed = page.eval_on_selector_all("nav.side a[data-page]", "els => els.map(e => e.dataset.page)")
    assert "overview" not in listed and "monitoring" not in listed
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/v1/" in r.url else None)
    for route in ("#/overview", "#/monitoring/churn-risk"):
        _open(page, served, route, "main [role=alert]")
    assert asked == [] and "churn-risk" not in page.inner_text("main")
    assert errors == []
    page.context.close()


def test_a_narrow_grant_sees_only_its_capability_and_the_apis_refusal(browser, served):
    page, errors = sign_in(browser, served, "narrow")
    _open(page, served, "#/overview", "#capabilities tr[data-capability=churn-challenger]")
    text = page.inner_text("main")
    assert "churn-risk" not in text and "spend_90d" not in text and "crm_customers" not in text
    _open(page, served, "#/monitoring/churn-challenger", "#alerts tbody tr")
    page.wait_for_selector("#drift p.muted")
    assert "call grant" in page.inner_text("#quality")
    assert errors == []
    page.goto(f"{served.running.url}/console/#/monitoring/churn-risk")
    refusal = page.wait_for_selector("#drift [role=alert]")
    assert "403" in refusal.inner_text() and "read_models" in refusal.inner_text()
    assert "spend_90d" not in page.inner_text("main")
    page.context.close()


def test_an_alert_resolves_after_a_confirmation(browser, served):
    page, errors = sign_in(browser, served, "admin")
    _open(page, served, "#/monitoring/churn-risk", "#alerts tbody tr[data-key] button.resolve")
    rows = "#alerts tbody tr[data-key]"
    page.click(f"{rows} button.resolve")
    page.click("dialog.modal button:has-text('Cancel')")
    assert page.eval_on_selector_all(rows, "els => els.length") == 2
    page.click(f"{rows} button.resolve")
    page.click("dialog.modal button.danger")
    page.wait_for_selector("#toasts .toast")
    page.wait_for_function("sel => document.querySelectorAll(sel).length === 1", arg=rows)
    assert errors == []
    page.context.close()
