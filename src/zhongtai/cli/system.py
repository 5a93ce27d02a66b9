"""`zhongtai info`: the resolved configuration."""

from __future__ import annotations

import typer
from rich.table import Table

from zhongtai.cli import context
from zhongtai.cli.output import console, print_json
from zhongtai.config import ENV_VARS


def register(app: typer.Typer) -> None:
    app.command("info")(info)


def info(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Show where every store lives (from ZT_HOME and the ZT_*_URL variables; secrets masked)."""
    described = context.settings().describe()
    if as_json:
        print_json(described)
        return
    table = Table(title="Zhongtai configuration", show_lines=False)
    table.add_column("role")
    table.add_column("variable")
    table.add_column("value")
    for key, value in described.items():
        table.add_row(key, ENV_VARS[key], value)
    console.print(table)
