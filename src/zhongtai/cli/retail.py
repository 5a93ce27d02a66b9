"""`zhongtai retail`: generate the retail reference scenario (systems, truth and a project folder)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from zhongtai.cli.output import console, print_json, progress
from zhongtai.errors import ZhongtaiError

app = typer.Typer(no_args_is_help=True)


@app.callback()
def retail() -> None:
    """The retail reference scenario: a retailer's CRM, ERP, clickstream, service and inventory."""


@app.command()
def generate(
    customers: Annotated[int, typer.Option("--customers", help="Number of people (customers) to simulate.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for systems/, truth/ and project/.")],
    crm_url: Annotated[
        str | None, typer.Option("--crm-url", help="PostgreSQL URL for the CRM (default: SQLite).")
    ] = None,
    erp_url: Annotated[
        str | None, typer.Option("--erp-url", help="MariaDB URL for the ERP (default: SQLite).")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Random seed: the same seed gives the same data.")] = 7,
    today: Annotated[str | None, typer.Option("--today", help="Last day of the history, YYYY-MM-DD.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Write every system of the retailer, the ground truth and a project folder that `zhongtai apply` accepts."""
    from zhongtai.scenarios.retail import DEFAULT_TODAY, STAGES
    from zhongtai.scenarios.retail import generate as run

    reference = _parse_day(today) if today else DEFAULT_TODAY
    with progress() as bar:
        tasks = {stage: bar.add_task(stage, total=None, detail="", start=False) for stage in STAGES}
        bar.start_task(tasks[STAGES[0]])

        def advance(stage: str, rows: int) -> None:
            bar.update(tasks[stage], total=max(rows, 1), completed=max(rows, 1), detail=f"{rows:,} rows")
            following = STAGES.index(stage) + 1
            if following < len(STAGES):
                bar.start_task(tasks[STAGES[following]])

        report = run(
            out, customers, seed=seed, crm_url=crm_url, erp_url=erp_url, today=reference, on_progress=advance
        )
    if as_json:
        print_json(report.to_dict())
        return
    console.print(_summary(report.rows, report.paths))
    console.print(f"Project: {report.project_dir}   (zhongtai apply {report.project_dir})")
    console.print(f"Truth, for evaluation only: {report.truth_dir}")
    for variable in report.env_vars:
        console.print(f"[yellow]export {variable}=... (the database password) before zhongtai apply[/yellow]")


def _parse_day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise ZhongtaiError(
            "invalid_argument", f"--today {value!r} is not a date", "write it as YYYY-MM-DD"
        ) from exc


def _summary(rows: dict[str, int], paths: dict[str, str]) -> Table:
    table = Table(title="Retail scenario written")
    table.add_column("system")
    table.add_column("table / files")
    table.add_column("rows", justify="right")
    table.add_column("where")
    for key, count in rows.items():
        system, _, name = key.partition(".")
        table.add_row(system, name, f"{count:,}", paths.get(system, ""))
    return table
