"""`zhongtai features`: build feature views' offline history, materialize latest values online, inspect."""

from __future__ import annotations

from typing import Any

import typer
from rich.progress import TaskID
from rich.table import Table

from zhongtai.cli import context
from zhongtai.cli.output import console, print_json, progress
from zhongtai.meta.records import FeatureBuild

app = typer.Typer(no_args_is_help=True)
JSON = typer.Option(False, "--json", help="Print JSON.")


def _build_dict(build: FeatureBuild | None) -> dict[str, Any] | None:
    if build is None:
        return None
    return {
        "view": build.view,
        "build": build.build,
        "created_at": build.created_at.isoformat(),
        "rows": build.rows,
        "files": build.files,
        "schema": [{"name": c.name, "type": c.type, "nullable": c.nullable} for c in build.schema],
        "inputs": build.inputs,
        "max_timestamp": build.max_timestamp,
        "materialized_at": build.materialized_at.isoformat() if build.materialized_at else None,
    }


def _counting(bar: Any, label: str) -> tuple[TaskID, Any]:
    task = bar.add_task(label, total=None, detail="")
    seen = 0

    def advance(rows: int) -> None:
        nonlocal seen
        seen += rows
        bar.update(task, advance=rows, detail=f"{seen:,} rows")

    return task, advance


@app.command("build")
def build(view: str, as_json: bool = JSON) -> None:
    """Compute a feature view's offline history over the current dataset versions."""
    from zhongtai.features.offline import build_view

    store = context.store()
    store.spec("feature_views", view)  # an unknown name fails before the progress display starts
    with progress() as bar:
        task, advance = _counting(bar, f"build {view}")
        result = build_view(store, context.lake(), view, on_progress=advance, engine=context.offline_engine())
        bar.update(task, total=max(result.rows, 1), completed=max(result.rows, 1))
    if as_json:
        print_json(_build_dict(result))
        return
    table = Table("view", "build", "rows", "newest event", "inputs")
    inputs = ", ".join(f"{name}@{version}" for name, version in sorted(result.inputs.items()))
    table.add_row(view, str(result.build), f"{result.rows:,}", result.max_timestamp or "-", inputs)
    console.print(table)


@app.command("materialize")
def materialize(
    view: str,
    as_json: bool = JSON,
) -> None:
    """Replace the view's online values with each entity's latest values from its newest build.

    Atomic: serving reads the previous values until the new set is complete; a failure leaves them in place.
    """
    from zhongtai.features.materialize import materialize as run
    from zhongtai.features.online import open_online_store

    store = context.store()
    build_record = store.features.require_build(view)
    online = open_online_store(context.settings().online_url)
    try:
        with progress() as bar:
            task, advance = _counting(bar, f"materialize {view}")
            written = run(store, context.lake(), online, view, on_progress=advance)
            bar.update(task, total=max(written, 1), completed=max(written, 1))
    finally:
        online.close()
    summary = {"view": view, "build": build_record.build, "rows": written}
    if as_json:
        print_json(summary)
        return
    table = Table("view", "build", "entities written")
    table.add_row(view, str(build_record.build), f"{written:,}")
    console.print(table)


@app.command("list")
def list_views(as_json: bool = JSON) -> None:
    """Every feature view with its newest build."""
    store = context.store()
    rows = []
    for name, spec in sorted(store.registered("feature_views").items()):
        latest = store.features.latest_build(name)
        rows.append(
            {"name": name, "entity": spec["entity"], "ttl": spec["ttl"], "latest": _build_dict(latest)}
        )
    if as_json:
        print_json(rows)
        return
    table = Table("name", "entity", "ttl", "build", "rows", "newest event", "materialized")
    for row in rows:
        latest = row["latest"]
        table.add_row(
            row["name"],
            row["entity"],
            row["ttl"],
            str(latest["build"]) if latest else "-",
            f"{latest['rows']:,}" if latest else "-",
            (latest["max_timestamp"] or "-") if latest else "-",
            (latest["materialized_at"] or "no")[:19] if latest else "-",
        )
    console.print(table)


@app.command("show")
def show(view: str, as_json: bool = JSON) -> None:
    """A feature view's spec and its builds."""
    from zhongtai.spec.models import FeatureViewSpec

    store = context.store()
    spec = store.spec("feature_views", view)
    builds = store.features.builds(view)
    if as_json:
        print_json({"name": view, "spec": spec, "builds": [_build_dict(b) for b in builds]})
        return
    console.print(
        f"[bold]{view}[/bold] of entity {spec['entity']}, ttl {spec['ttl']} — {spec.get('description') or ''}"
    )
    features = Table("feature", "type", "description")
    for feature in FeatureViewSpec.model_validate(spec).features:  # generated for a view with windows
        features.add_row(feature.name, feature.type, feature.description)
    console.print(features)
    if not builds:
        console.print(f"never built: run `zhongtai features build {view}`")
        return
    history = Table("build", "created", "rows", "newest event", "inputs", "materialized")
    for b in builds:
        history.add_row(
            str(b.build),
            b.created_at.strftime("%Y-%m-%d %H:%M"),
            f"{b.rows:,}",
            b.max_timestamp or "-",
            ", ".join(f"{n}@{v}" for n, v in sorted(b.inputs.items())),
            b.materialized_at.strftime("%Y-%m-%d %H:%M") if b.materialized_at else "no",
        )
    console.print(history)


@app.command("groups")
def groups(as_json: bool = JSON) -> None:
    """Feature groups with the features each resolves to, and on-demand views with their expressions."""
    from zhongtai.features.selection import select_features

    store = context.store()
    listed = [
        {
            "name": name,
            "entity": spec["entity"],
            "members": spec["features"],
            "features": select_features(store, [], [name]).names,
        }
        for name, spec in sorted(store.registered("feature_groups").items())
    ]
    on_demand = [
        {
            "name": name,
            "entity": spec["entity"],
            "request": spec.get("request", []),
            "features": spec["features"],
        }
        for name, spec in sorted(store.registered("on_demand_views").items())
    ]
    if as_json:
        print_json({"feature_groups": listed, "on_demand_views": on_demand})
        return
    table = Table("group", "entity", "features")
    for group in listed:
        table.add_row(group["name"], group["entity"], ", ".join(group["features"]))
    console.print(table)
    expressions = Table("on-demand view", "feature", "type", "expression")
    for view in on_demand:
        for feature in view["features"]:
            expressions.add_row(view["name"], feature["name"], feature["type"], feature["expression"])
    console.print(expressions)
