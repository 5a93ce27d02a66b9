"""`zhongtai policies plan | apply FILE`: grants, one `policies` YAML document at a time.

Each policy the document names is created or replaced (others stay; removing one is a project `apply`),
in one transaction with its audit record. A document after which no admin could manage grants is refused.
On the metadata store as the local admin, or with `ZT_URL` through that gateway as `ZT_KEY`'s principal,
which needs `manage_grants` (cli/governed.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from zhongtai.cli.governed import backend
from zhongtai.cli.output import console, print_json
from zhongtai.errors import ErrorCode, ZhongtaiError

app = typer.Typer(no_args_is_help=True)
FILE = typer.Argument(..., help="A YAML document with `policies:` and a list of policies ('-' for stdin).")
JSON = typer.Option(False, "--json", help="Print JSON.")
_SYMBOL = {"create": "[green]+[/green]", "update": "[yellow]~[/yellow]"}


def _read(path: Path) -> tuple[str, str]:
    """The document's text and the name its errors are reported under."""
    if str(path) == "-":
        return typer.get_text_stream("stdin").read(), "<stdin>"
    try:
        return path.read_text(encoding="utf-8"), str(path)
    except (OSError, UnicodeDecodeError) as exc:
        reason = "not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else exc.strerror or "unreadable"
        raise ZhongtaiError(ErrorCode.INVALID_ARGUMENT, f"{path}: {reason}") from None


@app.command("plan")
def plan(path: Path = FILE, as_json: bool = JSON) -> None:
    """Show what `policies apply` would create or change; nothing is written."""
    steps = backend().plan_policies(*_read(path))
    if as_json:
        print_json(steps)
        return
    _show(steps)


@app.command("apply")
def apply(path: Path = FILE, as_json: bool = JSON) -> None:
    """Create or replace the document's policies in one audited transaction; the plan applied is shown.
    Running gateways enforce it within their poll interval (ZT_SERVING_POLL)."""
    steps = backend().apply_policies(*_read(path))
    if as_json:
        print_json({"applied": steps})
        return
    _show(steps)
    if steps:
        console.print("[green]applied[/green]")


def _show(steps: list[dict[str, Any]]) -> None:
    if not steps:
        console.print("No changes: the policies in force match the document.")
        return
    for step in steps:
        console.print(f"{_SYMBOL.get(step['action'], step['action'])} policy [bold]{step['name']}[/bold]")
        for change in step["changes"]:
            old = json.dumps(change["old"], ensure_ascii=False)
            new = json.dumps(change["new"], ensure_ascii=False)
            console.print(f"    {escape(change['path'])}: {escape(old)} → {escape(new)}")
    created = sum(1 for s in steps if s["action"] == "create")
    console.print(f"Plan: {created} to create, {len(steps) - created} to update.")
