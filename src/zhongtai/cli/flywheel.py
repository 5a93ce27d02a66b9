"""`zhongtai flywheel quality`: how well a capability's decisions turned out, from the feedback on them."""

from __future__ import annotations

import typer
from rich.table import Table

from zhongtai.cli import context
from zhongtai.cli.output import console, print_json

app = typer.Typer(no_args_is_help=True)


@app.command("quality")
def quality(
    capability: str = typer.Argument(..., help="The capability, e.g. churn-risk."),
    since: str = typer.Option("30d", "--since", help="Decisions made this far back, like 30d or 12h."),
    by_day: bool = typer.Option(False, "--by-day", help="One row per day as well as per version and arm."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Live quality per model version and arm: the capability's logged decisions joined with the outcomes
    reported for them (AUC, precision and recall for binary; accuracy; hit rate; MAE and MAPE)."""
    from zhongtai.flywheel.quality import live_quality, window_start

    report = live_quality(context.store(), capability, window_start(since, "--since"), by_day=by_day)
    if as_json:
        print_json(report.to_dict())
        return
    if not report.rows:
        console.print(f"{capability}: no decision made in the last {since} has feedback yet")
        return
    table = Table("version", "arm", *(["day"] if by_day else []), "labelled", *report.measures)
    table.title = f"{capability} ({report.task}): live quality over the last {since}"
    table.title_justify = "left"
    for row in report.rows:
        values = [row.measures.get(m) for m in report.measures]
        table.add_row(
            f"v{row.model_version}" if row.model_version is not None else "fallback",
            row.arm,
            *([row.period or ""] if by_day else []),
            f"{row.decisions:,}",
            *("-" if v is None else f"{v:.3f}" for v in values),
        )
    console.print(table)
