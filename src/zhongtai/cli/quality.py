"""`zhongtai quality`: what the quality rules found when datasets were ingested."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
from rich.markup import escape
from rich.table import Table

from zhongtai.cli import context
from zhongtai.cli.output import console, print_json

if TYPE_CHECKING:
    from zhongtai.quality.report import QualityReport

app = typer.Typer(no_args_is_help=True)


@app.callback()
def _group() -> None:
    """Data quality: what the rules found when datasets were ingested."""


_STYLE = {"pass": "green", "info": "cyan", "warned": "yellow", "quarantined": "red", "blocked": "bold red"}


@app.command("report")
def report(
    name: str = typer.Argument(..., help="The dataset."),
    version: int | None = typer.Option(None, "--version", "-v", help="A past version (default: current)."),
    samples: int = typer.Option(5, "--samples", "-k", min=0, max=1000, help="Quarantined rows to show."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Per rule pass/fail counts of a version, blocked dataset checks, and quarantined sample rows."""
    from zhongtai.quality.report import build_report

    found = build_report(context.store(), context.lake(), name, version, samples)
    if as_json:
        print_json(found.to_dict())
        return
    _print(found)


def _print(found: QualityReport) -> None:
    run = found.run
    if run is None:
        console.print(f"{found.dataset} version {found.version}: no quality rules ran for this version")
    else:
        console.print(
            f"[bold]{found.dataset}[/bold] version {found.version} · {run.status} · {run.rows_in:,} rows in · "
            f"{run.rows_kept:,} kept · {run.rows_quarantined:,} quarantined · {run.rows_deduped:,} deduplicated"
        )
        table = Table("rule", "level", "on fail", "checked", "failed", "status", "example / reason")
        for r in run.results:
            style = _STYLE.get(r["status"], "")
            table.add_row(
                r["rule"],
                r["level"],
                r["on_fail"],
                f"{r['checked']:,}",
                f"{r['failed']:,}",
                f"[{style}]{r['status']}[/{style}]" if style else r["status"],
                escape(r["reason"] or ""),
            )
        console.print(table)
    for blocked in found.blocked:
        when = blocked.at.strftime("%Y-%m-%d %H:%M:%S")
        console.print(
            f"[bold red]blocked[/bold red] run {blocked.run_id} at {when}: {escape(blocked.message or '')}"
        )
    if found.samples:
        columns = list(found.samples[0])
        table = Table(*columns, title="quarantined rows (sample)")
        for row in found.samples:
            table.add_row(*(escape("" if v is None else str(v)) for v in row.values()))
        console.print(table)
