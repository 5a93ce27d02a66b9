"""`zhongtai entities`: what features describe and decisions are about."""

from __future__ import annotations

import typer
from rich.table import Table

from zhongtai.cli import context
from zhongtai.cli.output import console, print_json

app = typer.Typer(no_args_is_help=True)


@app.command("list")
def list_entities(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List registered entities and their join keys."""
    entities = [
        {"name": name, "join_keys": spec["join_keys"], "description": spec.get("description", "")}
        for name, spec in sorted(context.store().registered("entities").items())
    ]
    if as_json:
        print_json(entities)
        return
    table = Table("name", "join keys", "description")
    for entity in entities:
        table.add_row(entity["name"], ", ".join(entity["join_keys"]), entity["description"])
    console.print(table)
