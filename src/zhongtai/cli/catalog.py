"""`zhongtai catalog` and `zhongtai lineage`: find data assets, see what they are and where they come from."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table
from rich.tree import Tree

from zhongtai.cli import context
from zhongtai.cli.output import console, print_json

if TYPE_CHECKING:
    from zhongtai.catalog.lineage import LineageGraph, Node

app = typer.Typer(no_args_is_help=True)
JSON = typer.Option(False, "--json", help="Print JSON.")


def register(root: typer.Typer) -> None:
    root.command("lineage")(lineage)


@app.command("search")
def search(text: str = typer.Argument(..., help="Words to look for."), as_json: bool = JSON) -> None:
    """Datasets, fields, feature views, models and capabilities whose names or descriptions mention TEXT."""
    from zhongtai.catalog.entries import search as find

    hits = find(context.store(), text)
    if as_json:
        print_json(hits)
        return
    table = Table("kind", "name", "description")
    for hit in hits:
        table.add_row(hit["kind"], hit["name"], hit["description"])
    console.print(table if hits else f"nothing mentions '{text}'")


@app.command("show")
def show(
    name: str = typer.Argument(..., help="A name, or kind:name when several kinds use it."),
    as_json: bool = JSON,
) -> None:
    """What the catalog knows about one object: owner, freshness, size, fields and their PII classes.

    A text field holding PII shows `text:` and the kinds found (`text:phone,id_card`); its storage says
    `redacted(...)` when the spec redacts them (docs/pii.md)."""
    from zhongtai.catalog.entries import entry
    from zhongtai.catalog.lineage import LineageGraph

    store = context.store()
    node = LineageGraph.from_store(store).find(name)
    found = entry(store, node.kind, node.name)
    if as_json:
        print_json(found.to_dict())
        return
    body = found.to_dict()
    console.print(f"[bold]{body['kind']} {found.name}[/bold] — {found.description or 'no description'}")
    for key, value in body.items():
        if key not in ("kind", "name", "description", "fields") and value not in (None, [], {}):
            console.print(f"  {key}: {value}")
    if found.fields:
        table = Table(*found.fields[0].keys())
        for row in found.fields:
            table.add_row(*("" if v is None else str(v) for v in row.values()))
        console.print(table)


def lineage(name: str = typer.Argument(..., help="A name, or kind:name."), as_json: bool = JSON) -> None:
    """Where NAME's data comes from (upstream, back to the source tables) and what depends on it."""
    from zhongtai.catalog.lineage import LineageGraph

    store = context.store()
    graph = LineageGraph.from_store(store)
    described = graph.describe(name)
    if as_json:
        print_json(described)
        return
    node = graph.find(name)
    locations = {
        n: spec.get("table") or spec.get("path") or spec.get("endpoint")
        for n, spec in store.registered("datasets").items()
    }
    for direction, title in (("up", "upstream"), ("down", "downstream")):
        tree = Tree(f"[bold]{node}[/bold] {title}")
        _grow(tree, graph, node, direction, locations, set())
        console.print(tree)


def _grow(
    tree: Tree,
    graph: LineageGraph,
    node: Node,
    direction: str,
    locations: dict[str, Any],
    seen: set[Node],
) -> None:
    for edge in graph.next_edges(node, direction):
        other = edge.upstream if direction == "up" else edge.downstream
        label = str(other)
        if other.kind == "datasets" and locations.get(other.name):
            label += f" [dim]({locations[other.name]})[/dim]"
        branch = tree.add(f"{label} [dim]{edge.relation}[/dim]")
        following = graph.beyond(edge, direction)
        if following is not None and following not in seen:
            _grow(branch, graph, following, direction, locations, seen | {node})
