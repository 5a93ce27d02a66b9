"""`zhongtai tags`: rule-defined labels on entities, their builds and history."""

from __future__ import annotations

import typer
from rich.table import Table

from zhongtai.cli import context
from zhongtai.cli.output import console, err_console, print_json
from zhongtai.errors import ZhongtaiError

app = typer.Typer(no_args_is_help=True)
JSON = typer.Option(False, "--json", help="Print JSON.")


@app.command("build")
def build(
    names: list[str] = typer.Argument(None, help="Tags to build (default: all, or the due ones with --due)."),
    due: bool = typer.Option(
        False, "--due", help="Only tags whose `every` has passed since their last build."
    ),
    online: bool = typer.Option(True, "--online/--no-online", help="Also refresh the online tag views."),
    as_json: bool = JSON,
) -> None:
    """Recompute tags: who carries each now, who gained and lost it; then refresh the online tag views."""
    from zhongtai.features.online import open_online_store
    from zhongtai.tags.build import build_tag, due_tags, load_tag
    from zhongtai.tags.online import materialize_tags

    store, lake = context.store(), context.lake()
    chosen = names or (due_tags(store) if due else sorted(store.registered("tags")))
    if not chosen:
        raise ZhongtaiError("invalid_argument", "no tag to build", "declare tags in the project, or name one")
    builds, entities = [], set()
    for name in chosen:
        err_console.print(f"building tag {name}")
        builds.append(build_tag(store, lake, name))
        entities.add(load_tag(store, name)[0].entity)
    if online:
        opened = open_online_store(context.settings().online_url)
        try:
            for entity in sorted(entities):
                materialize_tags(store, lake, opened, entity)
        finally:
            opened.close()
    if as_json:
        print_json([b.to_dict() for b in builds])
        return
    table = Table("tag", "build", "members", "gained", "lost")
    for b in builds:
        table.add_row(b.tag, str(b.build), f"{b.members:,}", f"{b.gained:,}", f"{b.lost:,}")
    console.print(table)


@app.command("list")
def list_tags(as_json: bool = JSON) -> None:
    """Every tag with its entity and its latest build."""
    store = context.store()
    rows = []
    for name, spec in sorted(store.registered("tags").items()):
        latest = store.tags.latest(name)
        rows.append(
            {
                "name": name,
                "entity": spec["entity"],
                "description": spec.get("description", ""),
                "build": latest.build if latest else None,
                "members": latest.members if latest else None,
            }
        )
    if as_json:
        print_json(rows)
        return
    table = Table("tag", "entity", "build", "members", "description")
    for row in rows:
        table.add_row(
            row["name"],
            row["entity"],
            str(row["build"] or "-"),
            f"{row['members']:,}" if row["members"] is not None else "-",
            row["description"],
        )
    console.print(table)


@app.command("history")
def history(
    name: str,
    key: str | None = typer.Option(None, "--key", help="Only this entity (its join key value)."),
    as_json: bool = JSON,
) -> None:
    """When entities gained or lost a tag, build by build."""
    from zhongtai.tags.build import tag_history

    events = tag_history(context.store(), context.lake(), name).to_pylist()
    if key is not None:
        events = [
            e
            for e in events
            if "|".join(str(v) for k, v in e.items() if k not in ("event", "changed_at")) == key
        ]
    if as_json:
        print_json(events)
        return
    if not events:
        console.print(f"no events for tag {name}")
        return
    table = Table(*events[0].keys())
    for event in events:
        table.add_row(*(str(v) for v in event.values()))
    console.print(table)
