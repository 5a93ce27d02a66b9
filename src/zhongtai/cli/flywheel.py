"""`zhongtai flywheel`: live quality from feedback (`quality`), and the retrain flywheel (`check`, `history`,
`approve`) that trains, judges and promotes challengers by each model's retrain policy."""

from __future__ import annotations

from typing import Any

import typer
from rich.table import Table

from zhongtai.cli import context
from zhongtai.cli.output import console, err_console, print_json

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


@app.command("check")
def check(
    model: str | None = typer.Option(
        None, "--model", help="Only this model (default: every model with a policy)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Evaluate the retrain policies and advance each open run by one step: roll back a champion below its
    quality floor, start a run when a trigger fires, or train, compare, replay, shadow, ramp and promote.
    Safe to run every minute from a scheduler, from several processes at once."""
    from zhongtai.cli.governed_local import named_principal
    from zhongtai.flywheel.retrain import check as run_check

    with err_console.status("checking retrain policies (a triggered run trains a challenger)"):
        done = run_check(context.store(), context.lake(), named_principal(), model)
    if as_json:
        print_json([o.to_dict() for o in done])
        return
    if not done:
        console.print("no model has a retrain policy")
    for outcome in done:
        where = f"run {outcome.run}" if outcome.run else "no run"
        state = outcome.state or "unchanged"
        console.print(f"{outcome.model}: {where} {state} — {outcome.reason}")


@app.command("history")
def history(
    model: str | None = typer.Argument(None, help="The model (default: every model)."),
    limit: int = typer.Option(20, "--limit", min=1, help="Runs shown, newest first."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """The flywheel's timeline: each run's steps with when, who, why and the evidence."""
    from zhongtai.flywheel.retrain import history as runs

    found = runs(context.store(), model, limit)
    if as_json:
        print_json([r.to_dict() for r in found])
        return
    if not found:
        console.print(f"{model or 'no model'}: no flywheel run yet")
    for run in found:
        title = f"{run.model_name} run {run.id} on {run.capability}: {run.state} — {run.reason}"
        console.print(title, soft_wrap=True, markup=False, highlight=False, style="bold")
        for step in run.steps:
            line = f"  {step['at'][:19]}  {step['state']:<17} by {step['principal']}: {step['reason']}"
            console.print(line, soft_wrap=True, markup=False, highlight=False)
            if step["evidence"]:
                evidence = f"      {_evidence(step['evidence'])}"
                console.print(evidence, soft_wrap=True, markup=False, highlight=False)


@app.command("approve")
def approve(
    run: str = typer.Argument(..., help="The run id (`zhongtai flywheel history`)."),
    comment: str = typer.Option("", "--comment", help="Why, kept with the model review."),
) -> None:
    """Approve a run's challenger to serve live traffic (its shadow and canary), as a principal other than
    the one who triggered it (four eyes)."""
    from zhongtai.cli.governed_local import named_principal
    from zhongtai.flywheel.retrain import approve as approve_run

    done = approve_run(context.store(), run, named_principal(), comment)
    console.print(f"{done.model_name} v{done.challenger_version} approved: the next check starts its shadow")


def _evidence(body: dict[str, Any]) -> str:
    """Evidence on one line: scalar values, and nested measures as name=value."""
    parts = []
    for key, value in body.items():
        if isinstance(value, dict):
            inner = ", ".join(f"{k}={v}" for k, v in value.items() if not isinstance(v, dict | list))
            parts.append(f"{key}: {inner}")
        elif not isinstance(value, list):
            parts.append(f"{key}={value}")
    return "; ".join(parts)
