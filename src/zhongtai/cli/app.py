"""The `zhongtai` command. Each noun is a module; they all share one error handler."""

from __future__ import annotations

import sys

import typer
from rich.markup import escape

from zhongtai import __version__
from zhongtai.cli import datasets, ingest, project, sources, system
from zhongtai.cli.output import err_console
from zhongtai.errors import ZhongtaiError

app = typer.Typer(
    name="zhongtai",
    help="Zhongtai (中台): connect enterprise systems, build governed AI capabilities on them.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode="rich",
)
system.register(app)
project.register(app)
ingest.register(app)
app.add_typer(sources.app, name="sources", help="Connections to existing systems.")
app.add_typer(datasets.app, name="datasets", help="Datasets in the lake and their versions.")


@app.callback(invoke_without_command=True)
def _root(version: bool = typer.Option(False, "--version", help="Print the version and exit.")) -> None:
    if version:
        typer.echo(__version__)
        raise typer.Exit()


def main() -> None:
    """Entry point: run the command; a ZhongtaiError becomes one red line (and its hint), exit code 1."""
    try:
        app()
    except ZhongtaiError as exc:
        err_console.print(f"[red]error:[/red] {escape(exc.message)}", soft_wrap=True)
        if exc.hint:
            err_console.print(f"[dim]hint:[/dim] {escape(exc.hint)}", soft_wrap=True)
        sys.exit(1)
