"""`zhongtai report roi`: what the capabilities are worth — callers, calls, latency cost, attributed outcomes
(and money, at values the user assumes), and reuse of feature views and models."""

from __future__ import annotations

from typing import Any

import typer
from rich.table import Table

from zhongtai.cli import context
from zhongtai.cli.output import console, print_json

app = typer.Typer(no_args_is_help=True)


@app.command("roi")
def roi(
    since: str = typer.Option("30d", "--since", help="Decisions made this far back, like 30d or 12h."),
    value: list[str] = typer.Option(
        [],
        "--value",
        help="Your assumed value of one outcome, CAPABILITY:OUTCOME=AMOUNT, e.g. churn-risk:retained=120 "
        "(repeatable; outcomes: retained, clicks, conversions, auto, resolved).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """ROI per capability over a window: callers (business systems), calls, fallback share, p50/p95
    latency and compute seconds, outcomes attributed from feedback; then how often each feature view,
    feature group and model is reused by capabilities."""
    from zhongtai.flywheel.quality import window_start
    from zhongtai.flywheel.roi import parse_values, roi_report

    start = window_start(since, "--since")
    values = parse_values(value, "--value")
    with console.status("aggregating the decision log"):
        report = roi_report(context.store(), start, values=values)
    if as_json:
        print_json(report.to_dict())
        return
    console.print(_capabilities_table(report.capabilities, since))
    console.print(_outcomes_table(report.capabilities))
    console.print(_reuse_table(report.reuse))
    if report.assumptions:
        assumed = ", ".join(f"{k}={v:g}" for k, v in report.assumptions.items())
        console.print(f"Values are your assumptions, not measurements: {assumed}")


def _capabilities_table(rows: list[Any], since: str) -> Table:
    table = Table("capability", "task", "calls", "callers", "fallback", "p50 ms", "p95 ms", "compute s")
    table.title = f"Use over the last {since}"
    table.title_justify = "left"
    for row in rows:
        callers = ", ".join(f"{name} {calls:,}" for name, calls in row.callers.items()) or "-"
        share = row.fallback_share
        table.add_row(
            row.capability, row.task, f"{row.calls:,}", callers, "-" if share is None else f"{share:.1%}",
            _ms(row.p50_ms), _ms(row.p95_ms), f"{row.compute_seconds:,.1f}",
        )  # fmt: skip
    return table


def _outcomes_table(rows: list[Any]) -> Table:
    table = Table("capability", "outcomes attributed from feedback", "assumed value")
    table.title = "Outcomes"
    table.title_justify = "left"
    for row in rows:
        outcomes = row.outcomes.get("note") if row.outcomes.get("measurable") is False else None
        shown = outcomes or ", ".join(f"{k} {_figure(v)}" for k, v in row.outcomes.items() if k != "note")
        money = ", ".join(f"{k} ¥{v:,.2f}" for k, v in row.value.items()) or "-"
        table.add_row(row.capability, shown, money)
    return table


def _reuse_table(rows: list[Any]) -> Table:
    table = Table("kind", "name", "models", "capabilities", "reuse", "calls")
    table.title = "Reuse"
    table.title_justify = "left"
    for row in rows:
        table.add_row(
            row.kind, row.name, ", ".join(row.models) or "-", ", ".join(row.capabilities) or "-",
            str(row.reuse), f"{row.calls:,}",
        )  # fmt: skip
    return table


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}"


def _figure(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.1%}"
    return f"{value:,}" if isinstance(value, int) else str(value)
