"""`zhongtai datasets`: what is in the lake, its versions, fields and ingest runs; exporting a version."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Column, Table

from zhongtai.cli import context
from zhongtai.cli.output import console, print_json, progress

app = typer.Typer(no_args_is_help=True)
JSON = typer.Option(False, "--json", help="Print JSON.")


def _size(value: int | None) -> str:
    if value is None:
        return "-"
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024  # type: ignore[assignment]
    return str(value)


@app.command("list")
def list_datasets(as_json: bool = JSON) -> None:
    """Each dataset with its current version and row count."""
    summaries = context.store().list_datasets()
    if as_json:
        print_json([s.to_dict() for s in summaries])
        return
    table = Table("source", "version", "rows", "size", "refreshed")
    table.columns.insert(0, Column("name", no_wrap=True))
    for s in summaries:
        table.add_row(
            s.name,
            s.source,
            str(s.version) if s.version else "-",
            f"{s.rows:,}" if s.rows is not None else "-",
            _size(s.bytes),
            s.refreshed_at.strftime("%Y-%m-%d %H:%M") if s.refreshed_at else "never",
        )
    console.print(table)


@app.command("show")
def show(name: str, as_json: bool = JSON) -> None:
    """A dataset's spec, current version and fields."""
    store = context.store()
    spec, _ = store.dataset_spec(name)
    current = store.current_version(name)
    fields = store.fields(name)
    if as_json:
        print_json(
            {
                "name": name,
                "spec": spec,
                "current": current.to_dict() if current else None,
                "fields": [f.__dict__ for f in fields],
            }
        )
        return
    if "source" in spec:
        origin, again = f"source {spec['source']}", f"ingest {name}"
    elif "model" in spec:
        origin, again = f"model {spec['model']} (its outputs)", f"models publish {spec['model']}"
    else:
        origin, again = f"identity {spec.get('identity')} (OneID)", "oneid run"
    console.print(f"[bold]{name}[/bold] from {origin} — {spec.get('description') or ''}")
    if current is None:
        console.print(f"never written: run `zhongtai {again}`")
    else:
        console.print(
            f"version {current.version} ({current.mode}) · {current.rows:,} rows · {_size(current.bytes)} · "
            f"{len(current.files)} files · watermark {current.watermark or '-'}"
        )
    table = Table("field", "type", "nullable", "pii", "description")
    for f in fields:
        table.add_row(f.name, f.type, "yes" if f.nullable else "no", f.pii or "", f.description)
    console.print(table)


@app.command("versions")
def versions(name: str, as_json: bool = JSON) -> None:
    """Every version of a dataset with what changed in it."""
    found = context.store().versions(name)
    if as_json:
        print_json([v.to_dict() for v in found])
        return
    table = Table("version", "created", "mode", "rows", "added", "updated", "removed", "schema changes")
    for v in found:
        table.add_row(
            str(v.version),
            v.created_at.strftime("%Y-%m-%d %H:%M:%S"),
            v.mode,
            f"{v.rows:,}",
            f"{v.rows_added:,}",
            f"{v.rows_updated:,}",
            f"{v.rows_removed:,}",
            "; ".join(v.schema_changes),
        )
    console.print(table)


@app.command("preview")
def preview(
    name: str,
    limit: int = typer.Option(10, "--limit", "-n", min=1, max=10_000, help="Rows to show."),
    version: int | None = typer.Option(None, "--version", "-v", help="A past version (default: current)."),
    as_json: bool = JSON,
) -> None:
    """The first rows of a dataset version, PII masked by class unless the policy lets the CLI's principal
    see it (a local admin does; `ZT_PRINCIPAL` names whom a deny rule may hold back, docs/pii.md)."""
    from zhongtai.govern.clear_copies import open_table
    from zhongtai.govern.keys import load_keys
    from zhongtai.govern.masking import cli_disclosure, field_classes, mask_table
    from zhongtai.lake.reader import read_table

    store = context.store()
    table = open_table(
        read_table(store, context.lake(), name, version, limit), lambda: load_keys(context.settings().home)
    )
    rows = mask_table(table, field_classes(store.fields(name)), cli_disclosure(store, name)).to_pylist()
    if as_json:
        print_json(rows)
        return
    out = Table(*table.column_names)
    for row in rows:
        out.add_row(*("" if v is None else str(v) for v in row.values()))
    console.print(out)


@app.command("export")
def export(
    name: str,
    out: Path = typer.Option(..., "--out", "-o", help="The file to write (.parquet, .csv or .jsonl)."),
    file_format: str | None = typer.Option(
        None, "--format", "-f", help="parquet, csv or jsonl (default: from the file's extension)."
    ),
    version: int | None = typer.Option(None, "--version", "-v", help="A past version (default: current)."),
    force: bool = typer.Option(False, "--force", help="Replace the file if it exists."),
    as_json: bool = JSON,
) -> None:
    """Write a dataset version to one file, PII as `datasets preview` shows it (tokens stay tokens; clear
    values of a class the CLI's principal may not see are masked).

    The file appears whole or not at all (written beside it, then renamed)."""
    from functools import partial

    from zhongtai.govern.clear_copies import open_batch
    from zhongtai.govern.keys import load_keys
    from zhongtai.govern.masking import cli_disclosure, field_classes, mask_batch
    from zhongtai.lake.export import export_dataset

    store = context.store()
    store.dataset_spec(name)  # an unknown name fails before any work starts
    seen = cli_disclosure(store, name)
    mask = partial(mask_batch, classes=field_classes(store.fields(name)), seen=seen)
    keys = partial(load_keys, context.settings().home)

    def masking(batch: Any) -> Any:
        return mask(open_batch(batch, keys))

    current = store.current_version(name) if version is None else store.version(name, version)
    with progress() as bar:
        task = bar.add_task(name, total=current.rows if current else None, detail="")
        exported = export_dataset(
            store,
            context.lake(),
            name,
            out,
            file_format=file_format,
            version=version,
            force=force,
            on_progress=lambda rows: bar.update(task, advance=rows),
            transform=masking,
        )
    if as_json:
        print_json(exported.to_dict())
        return
    console.print(
        f"{exported.rows:,} rows of {name} version {exported.version} written to {exported.path} ({exported.format})"
    )


@app.command("runs")
def runs(
    name: str | None = typer.Argument(None, help="Only this dataset."),
    limit: int = typer.Option(20, "--limit", "-n", min=1),
    as_json: bool = JSON,
) -> None:
    """Recent ingest runs, including failed and interrupted ones."""
    store = context.store()
    if name is not None:
        store.dataset_spec(name)  # an unknown dataset is not_found, not an empty list
    found = store.runs(name, limit=limit)
    if as_json:
        print_json([r.__dict__ for r in found])
        return
    table = Table("started", "dataset", "status", "rows read", "version", "message")
    for r in found:
        table.add_row(
            r.started_at.strftime("%Y-%m-%d %H:%M:%S"),
            r.dataset,
            r.status,
            f"{r.rows_read:,}",
            str(r.version or ""),
            r.message or "",
        )
    console.print(table)


@app.command("purge")
def purge(
    name: str | None = typer.Argument(
        None, help="The retired dataset to purge; none lists the retired ones."
    ),
    yes: bool = typer.Option(False, "--yes", "-y", help="Purge without asking."),
    as_json: bool = JSON,
) -> None:
    """Delete a retired dataset's versions, ingest runs and lake files for good.

    A dataset removed from the project is retired, not erased: declaring it again restores its history.
    Purging is the explicit, final step; a dataset the project still declares is refused. On a terminal it
    asks to confirm (default no); elsewhere it needs --yes.
    """
    import sys

    from rich.markup import escape

    from zhongtai.errors import ZhongtaiError
    from zhongtai.lake.purge import purge_dataset

    store = context.store()
    if name is None:
        retired = store.retired.list()
        if as_json:
            print_json([r.to_dict() for r in retired])
            return
        table = Table("name", "retired", "versions", "current")
        for r in retired:
            table.add_row(
                r.name,
                r.retired_at.strftime("%Y-%m-%d %H:%M"),
                str(r.versions),
                str(r.current_version or "-"),
            )
        console.print(table if retired else "No retired datasets.")
        return
    found = store.retired.get(name)
    versions = f"{found.versions} version{'s' if found.versions != 1 else ''}"
    what = f"dataset '{name}': its {versions}, their ingest runs and lake files"
    if not yes:
        if as_json or not sys.stdin.isatty():
            raise ZhongtaiError(
                "conflict",
                f"purging deletes {what} for good and no one confirmed it; nothing was deleted",
                "run it on a terminal to confirm, or pass --yes",
            )
        if not typer.confirm(f"Delete {what}, for good?", default=False):
            console.print("Nothing was deleted.")
            raise typer.Exit(1)
    result = purge_dataset(store, context.lake(), name)
    if as_json:
        print_json(result.to_dict())
        return
    console.print(
        f"[green]purged[/green] {name}: {result.versions} versions, {result.ingest_runs} ingest runs, "
        f"{len(result.folders_removed)} lake folders"
    )
    for folder in result.folders_left:
        console.print(
            f"[yellow]warning[/yellow] could not remove {escape(folder)}: nothing refers to it, delete it by hand"
        )
