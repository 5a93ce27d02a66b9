"""`zhongtai plan` and `zhongtai apply`: make the registry match a project folder."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.markup import escape

from zhongtai.cli import context
from zhongtai.cli.output import console, err_console, print_json

if TYPE_CHECKING:
    from zhongtai.spec.plan import Plan

_SYMBOL = {"create": "[green]+[/green]", "update": "[yellow]~[/yellow]", "delete": "[red]-[/red]"}


def register(app: typer.Typer) -> None:
    app.command("plan")(plan)
    app.command("apply")(apply)


def plan(
    folder: Path = typer.Argument(..., help="The project folder of YAML specs."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Show what `apply` would create, change or remove.

    Relative paths in a spec are read beside the YAML file that declares them. A local folder or file a
    spec names that does not exist is a warning (file:line and field), not an error: it may appear later.
    """
    from zhongtai.govern.protection import storage_notes
    from zhongtai.spec.plan import build_plan
    from zhongtai.spec.project import load_project

    project = load_project(folder)
    the_plan = build_plan(project, context.store())
    _warn(project.warnings)
    if as_json:
        print_json([step.to_dict() for step in the_plan.steps])
        return
    _show(the_plan)
    for note in storage_notes(context.store(), project.datasets):
        console.print(f"[yellow]pii[/yellow] {escape(note)}")


def apply(
    folder: Path = typer.Argument(..., help="The project folder of YAML specs."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Answer yes to every question, removals included."),
    allow_delete: bool = typer.Option(
        False, "--allow-delete", help="Apply a plan that removes objects without asking (scripts, CI)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Make the registry match the folder, in one transaction (all or nothing).

    The plan is shown first. A plan that removes objects asks to confirm on a terminal (default no); without
    a terminal it is refused, nothing changed, unless --allow-delete or --yes is given. A removed dataset is
    retired: its versions and lake files stay until `zhongtai datasets purge`, and declaring it again
    restores them.
    """
    from zhongtai.spec.plan import apply_plan, build_plan, deletions_refused
    from zhongtai.spec.project import load_project

    store = context.store()
    project = load_project(folder)
    the_plan = build_plan(project, store)
    _warn(project.warnings)
    if not as_json:
        _show(the_plan)
    confirmed = yes or allow_delete
    if the_plan.deletions and not confirmed:
        if as_json or not sys.stdin.isatty():
            raise deletions_refused(the_plan)
        count = len(the_plan.deletions)
        if not typer.confirm(
            f"Remove the {count} object{'s' if count > 1 else ''} marked - above?", default=False
        ):
            err_console.print("Nothing was changed.")
            raise typer.Exit(1)
        confirmed = True
    if any(step.kind == "policies" for step in the_plan.steps):
        from zhongtai.govern.policy import require_cli

        require_cli(store, "manage_grants")  # asked of the policies in force, before these replace them
    apply_plan(the_plan, store, allow_delete=confirmed)
    if as_json:
        print_json({"applied": [step.to_dict() for step in the_plan.steps]})
    elif not the_plan.empty:
        console.print("[green]applied[/green]")


def _warn(warnings: list[str]) -> None:
    """Warnings go to stderr, so `--json` output stays parseable."""
    for warning in warnings:
        err_console.print(f"[yellow]warning[/yellow] {escape(warning)}", soft_wrap=True)


def _show(the_plan: Plan) -> None:
    from zhongtai.meta.store import KIND_NOUN

    if the_plan.empty:
        console.print("No changes: the registry matches the project.")
        return
    for step in the_plan.steps:
        console.print(f"{_SYMBOL[step.action]} {KIND_NOUN[step.kind]} [bold]{step.name}[/bold]")
        for diff in step.diffs:
            old, new = json.dumps(diff.old, ensure_ascii=False), json.dumps(diff.new, ensure_ascii=False)
            console.print(f"    {escape(diff.path)}: {escape(old)} → {escape(new)}")
        for note in step.additive:
            console.print(f"    [green]additive[/green]: {escape(note)}")
        for note in step.breaking:
            console.print(f"    [red]BREAKING[/red]: {escape(note)}")
        for note in step.notes:
            console.print(f"    [dim]note[/dim]: {escape(note)}")
    counts = ", ".join(f"{the_plan.count(a)} to {a}" for a in ("create", "update", "delete"))
    breaking = len(the_plan.breaking)
    console.print(f"Plan: {counts}." + (f" [red]{breaking} breaking[/red] (see above)." if breaking else ""))
