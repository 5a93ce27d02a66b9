"""`zhongtai sources`: the registered connections to existing systems."""

from __future__ import annotations

import typer
from rich.table import Table

from zhongtai.cli import context
from zhongtai.cli.output import console, print_json
from zhongtai.config import mask_url

app = typer.Typer(no_args_is_help=True)


@app.command("list")
def list_sources(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List registered sources."""
    store = context.store()
    rows = [
        {
            "name": name,
            "type": spec["type"],
            "url": mask_url(spec["url"]),
            "datasets": store.datasets_of_source(name),
        }
        for name, spec in sorted(store.registered("sources").items())
    ]
    if as_json:
        print_json(rows)
        return
    table = Table("name", "type", "url", "datasets")
    for row in rows:
        table.add_row(row["name"], row["type"], row["url"], ", ".join(row["datasets"]))
    console.print(table)


@app.command("show")
def show(name: str, as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Show a source's spec as applied (secrets stay as ${env:...} references)."""
    spec = context.store().source_spec(name)
    if as_json:
        print_json(spec)
        return
    for key, value in spec.items():
        console.print(f"[bold]{key}[/bold]: {value}")


@app.command("test")
def test(name: str, as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Connect to a source and show the schema it presents for each of its datasets."""
    from pydantic import TypeAdapter

    from zhongtai.connect import open_connector
    from zhongtai.connect.types import logical_type
    from zhongtai.spec.models import DatasetSpec, SourceSpec

    store = context.store()
    source = TypeAdapter(SourceSpec).validate_python(store.source_spec(name))
    connector = open_connector(source)
    try:
        peer = connector.check()
        schemas = {}
        for dataset_name in store.datasets_of_source(name):
            dataset = DatasetSpec.model_validate(store.dataset_spec(dataset_name)[0])
            schemas[dataset_name] = [
                {"name": f.name, "type": logical_type(f.type)} for f in connector.schema(dataset)
            ]
    finally:
        connector.close()
    if as_json:
        print_json({"source": name, "ok": True, "peer": peer, "datasets": schemas})
        return
    console.print(f"[green]ok[/green] {name}: {peer}")
    for dataset_name, columns in schemas.items():
        table = Table("column", "type", title=f"dataset {dataset_name}", title_justify="left")
        for column in columns:
            table.add_row(column["name"], column["type"])
        console.print(table)
