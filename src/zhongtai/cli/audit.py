"""`zhongtai audit verify | log | export`: the hash-chained audit log of every change and decision."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.markup import escape
from rich.table import Column, Table

from zhongtai.cli import context
from zhongtai.cli.output import console, err_console, print_json, progress

if TYPE_CHECKING:
    from zhongtai.govern.audit_verify import VerifyReport

app = typer.Typer(no_args_is_help=True)
JSON = typer.Option(False, "--json", help="Print JSON.")
_PROGRESS_FROM = 5_000  # records: a shorter log verifies in well under a second


@app.command("verify")
def verify(as_json: bool = JSON) -> None:
    """Walk the whole chain: name every edited, deleted, inserted or reordered record, check each logged
    decision against its digest, and compare the tail with the head exported outside the database.
    Exit code 1 on any problem, with the reason on the last line."""
    from zhongtai.govern.audit_head import head_file
    from zhongtai.govern.audit_verify import verify as verify_log

    settings, store = context.settings(), context.store()
    head = head_file(settings.metadata_url, settings.home)
    if store.audit.count() < _PROGRESS_FROM:
        report = verify_log(store, head)
    else:
        with progress() as bar:
            task = bar.add_task("verify", total=None, detail="records")

            def on_progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            report = verify_log(store, head, on_progress)
    _print_report(report, as_json)
    if not report.ok:
        raise typer.Exit(1)


def _print_report(report: VerifyReport, as_json: bool) -> None:
    if as_json:
        print_json(
            {
                "ok": report.ok,
                "records": report.records,
                "decisions": report.decisions,
                "head": None if report.head is None else {"seq": report.head.seq, "hash": report.head.hash},
                "head_file": str(report.head_path) if report.head_path else None,
                "findings": [f.__dict__ for f in report.findings],
                "more_findings": report.more_findings,
                "notes": report.notes,
                "summary": report.summary(),
            }
        )
    else:
        for finding in sorted(report.findings, key=lambda f: f.seq):
            console.print(f"[red]✗[/red] {escape(finding.line())}", soft_wrap=True)
        if report.more_findings:
            console.print(f"[red]✗[/red] … and {report.more_findings} more problems", soft_wrap=True)
        for note in report.notes:
            err_console.print(f"[yellow]note:[/yellow] {escape(note)}", soft_wrap=True)
    (console if report.ok and not as_json else err_console).print(escape(report.summary()), soft_wrap=True)


@app.command("log")
def log(
    kind: str | None = typer.Option(None, "--kind", help="Only records of this kind (apply, approve...)."),
    principal: str | None = typer.Option(None, "--principal", help="Only records of this principal."),
    object_: str | None = typer.Option(None, "--object", help="Only records whose object contains this."),
    limit: int = typer.Option(50, "--limit", min=1, help="At most this many, newest first."),
    as_json: bool = JSON,
) -> None:
    """Recent audit records, newest first: who did what to which object, allowed by which rule (`--json`
    adds each record's body and hashes)."""
    found = context.store().audit.records(kind, principal, object_, limit)
    if as_json:
        print_json([r.to_dict() for r in found])
        return
    table = Table(
        Column("seq", justify="right", no_wrap=True, min_width=3),
        Column("at (UTC)", no_wrap=True, min_width=19),
        Column("kind", no_wrap=True, min_width=10),
        Column("principal", no_wrap=True, overflow="ellipsis"),
        Column("rule", no_wrap=True, overflow="ellipsis"),
        "object",
    )
    for r in found:
        table.add_row(str(r.seq), r.at[:19].replace("T", " "), r.kind, r.principal, r.rule, _clip(r.object))
    console.print(table)


@app.command("export")
def export(
    out: Path = typer.Option(..., "--out", help="The JSON-lines file to write ('-' for stdout)."),
    after: int = typer.Option(0, "--after", min=0, help="Only records numbered above this (incremental)."),
) -> None:
    """Write the log as JSON lines in Elastic Common Schema, oldest first, for Filebeat, Logstash or any
    ELK-style collector (hashes and bodies under `zhongtai.audit.*`)."""
    from zhongtai.govern.audit_ecs import ecs_lines

    store = context.store()
    written = 0
    if str(out) == "-":
        for page in store.audit.pages(after=after):
            for line in ecs_lines(page):
                typer.echo(line, nl=False)
            written += len(page)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    with progress() as bar, out.open("w", encoding="utf8") as target:
        task = bar.add_task("export", total=store.audit.count(), detail=str(out))
        for page in store.audit.pages(after=after):
            target.writelines(ecs_lines(page))
            written += len(page)
            bar.update(task, completed=written)
    err_console.print(f"{written:,} audit records written to {escape(str(out))}")


def _clip(text: str, chars: int = 40) -> str:
    """A long object (an apply names every object it changed) cut for the table; `--json` has it whole."""
    return text if len(text) <= chars else text[: chars - 1] + "…"
