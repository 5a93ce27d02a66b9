"""`zhongtai audit verify | log | export`: the hash-chained audit log of every change and decision.

On the metadata store, or with `ZT_URL` through the gateway as `ZT_KEY`'s principal (it needs `read_audit`):
the output is the same either way (cli/governed.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Column, Table

from zhongtai.cli.governed import backend
from zhongtai.cli.output import console, err_console, print_json, progress

app = typer.Typer(no_args_is_help=True)
JSON = typer.Option(False, "--json", help="Print JSON.")
_PROGRESS_EVERY = 1_000  # lines exported between progress updates


@app.command("verify")
def verify(as_json: bool = JSON) -> None:
    """Walk the whole chain: name every edited, deleted, inserted or reordered record, check each logged
    decision against its digest, and compare the tail with the head exported outside the database.
    Exit code 1 on any problem, with the reason on the last line."""
    report = backend().verify_audit()
    _print_report(report, as_json)
    if not report["ok"]:
        raise typer.Exit(1)


def _print_report(report: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(report)
    else:
        for finding in sorted(report["findings"], key=lambda f: f["seq"]):
            console.print(f"[red]✗[/red] {escape(finding['line'])}", soft_wrap=True)
        if report["more_findings"]:
            console.print(f"[red]✗[/red] … and {report['more_findings']} more problems", soft_wrap=True)
        for note in report["notes"]:
            err_console.print(f"[yellow]note:[/yellow] {escape(note)}", soft_wrap=True)
    out = console if report["ok"] and not as_json else err_console
    out.print(escape(report["summary"]), soft_wrap=True)


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
    found = backend().audit_records(kind, principal, object_, limit)
    if as_json:
        print_json(found)
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
        at = r["at"][:19].replace("T", " ")
        table.add_row(str(r["seq"]), at, r["kind"], r["principal"], r["rule"], _clip(r["object"]))
    console.print(table)


@app.command("export")
def export(
    out: Path = typer.Option(..., "--out", help="The JSON-lines file to write ('-' for stdout)."),
    after: int = typer.Option(0, "--after", min=0, help="Only records numbered above this (incremental)."),
) -> None:
    """Write the log as JSON lines in Elastic Common Schema, oldest first, for Filebeat, Logstash or any
    ELK-style collector (hashes and bodies under `zhongtai.audit.*`)."""
    governed = backend()
    written = 0
    if str(out) == "-":
        for line in governed.export_audit(after):
            typer.echo(line, nl=False)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    draft = out.with_name(f".{out.name}.partial")  # renamed when whole: a failed export leaves no half file
    try:
        with progress() as bar, draft.open("w", encoding="utf8") as target:
            task = bar.add_task("export", total=governed.audit_total(), detail=str(out))
            for line in governed.export_audit(after):
                target.write(line)
                written += 1
                if written % _PROGRESS_EVERY == 0:
                    bar.update(task, completed=written)
            bar.update(task, completed=written, total=written)
        draft.replace(out)
    finally:
        draft.unlink(missing_ok=True)
    err_console.print(f"{written:,} audit records written to {escape(str(out))}")


def _clip(text: str, chars: int = 40) -> str:
    """A long object (an apply names every object it changed) cut for the table; `--json` has it whole."""
    return text if len(text) <= chars else text[: chars - 1] + "…"
