"""`zhongtai ingest`: pull datasets into the lake as new versions, with progress."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
from rich.progress import TaskID
from rich.table import Table

from zhongtai.cli import context
from zhongtai.cli.output import console, print_json, progress
from zhongtai.errors import ZhongtaiError

if TYPE_CHECKING:
    from zhongtai.lake.ingest import IngestResult


def register(app: typer.Typer) -> None:
    app.command("ingest")(ingest)


def ingest(
    names: list[str] = typer.Argument(None, help="Datasets to ingest (default with --all: every dataset)."),
    all_datasets: bool = typer.Option(False, "--all", help="Ingest every registered dataset."),
    full: bool = typer.Option(False, "--full", help="Re-read everything even for incremental datasets."),
    accept_schema_change: bool = typer.Option(
        False,
        "--accept-schema-change",
        help="Take a changed source schema as a new version (a full re-read).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Pull datasets from their sources into the lake; a new version only when something changed."""
    from zhongtai.catalog.classify import classify_fields, undeclared_pii
    from zhongtai.lake.ingest import ingest as ingest_dataset
    from zhongtai.spec.references import ingest_order

    store = context.store()
    if all_datasets:
        names = ingest_order(store.registered("datasets"))
    if not names:
        raise ZhongtaiError("invalid_argument", "name at least one dataset, or pass --all")
    for name in names:
        store.dataset_spec(name)  # unknown names fail before any work starts
    results: list[IngestResult] = []
    failures: dict[str, str] = {}
    unprotected: dict[str, list[str]] = {}  # dataset -> detected PII its spec does not declare
    with progress() as bar:
        for name in names:
            task = bar.add_task(name, total=None, detail="")
            read = 0

            def advance(rows: int, task: TaskID = task) -> None:
                nonlocal read
                read += rows
                bar.update(task, advance=rows, detail=f"{read:,} rows")

            try:
                result = ingest_dataset(
                    store,
                    context.lake(),
                    name,
                    full=full,
                    accept_schema_change=accept_schema_change,
                    on_progress=advance,
                )
            except ZhongtaiError as exc:
                if len(names) == 1:
                    raise
                # One broken source must not stop the others; the run is recorded as failed.
                failures[name] = exc.message
                bar.update(task, total=1, completed=0, detail="[red]failed[/red]")
                continue
            bar.update(
                task,
                total=max(result.rows_read, 1),
                completed=max(result.rows_read, 1),
                detail=_summary(result),
            )
            if result.created:
                unprotected[name] = undeclared_pii(classify_fields(store, context.lake(), name))
            results.append(result)
    if as_json:
        print_json(
            [{**r.to_dict(), "undeclared_pii": unprotected.get(r.dataset, [])} for r in results]
            + [{"dataset": n, "error": m} for n, m in failures.items()]
        )
        _fail_if(failures)
        return
    table = Table(
        "dataset", "version", "read", "added", "updated", "removed", "quarantined", "rows", "seconds"
    )
    for r in results:
        table.add_row(
            r.dataset,
            f"{r.version} (new)" if r.created else f"{r.version} (unchanged)",
            f"{r.rows_read:,}",
            f"{r.rows_added:,}",
            f"{r.rows_updated:,}",
            f"{r.rows_removed:,}",
            f"{r.rows_quarantined:,}",
            f"{r.rows:,}",
            f"{r.seconds:.1f}",
        )
    console.print(table)
    for r in results:
        for change in r.schema_changes:
            console.print(f"[yellow]schema[/yellow] {r.dataset}: {change}")
        for warning in r.warnings:
            console.print(f"[yellow]quality[/yellow] {r.dataset}: {warning}")
        for warning in unprotected.get(r.dataset, []):
            console.print(f"[yellow]pii[/yellow] {r.dataset}: {warning}")
        if r.rows_quarantined:
            console.print(
                f"{r.dataset}: {r.rows_quarantined:,} rows quarantined; see `zhongtai quality report {r.dataset}`"
            )
    _fail_if(failures)


def _fail_if(failures: dict[str, str]) -> None:
    if failures:
        listed = "\n".join(f"  {name}: {message}" for name, message in failures.items())
        raise ZhongtaiError("source_error", f"{len(failures)} dataset(s) failed to ingest:\n{listed}")


def _summary(result: IngestResult) -> str:
    if not result.created:
        return "unchanged"
    return f"v{result.version}: +{result.rows_added:,} ~{result.rows_updated:,} -{result.rows_removed:,}"
