"""`zhongtai score`: a capability over every entity, a dataset or a query in batch, written back to the source
system (reverse ETL) or to a file, with a summary."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from zhongtai.cli import context
from zhongtai.cli.output import console, print_json, progress
from zhongtai.errors import ZhongtaiError

if TYPE_CHECKING:
    from zhongtai.capabilities.batch import BatchScores
    from zhongtai.capabilities.batch_input import BatchRows

PREVIEW_ROWS = 10  # rows a dry run shows


def register(app: typer.Typer) -> None:
    app.command("score")(score)


def score(
    capability: str = typer.Argument(..., help="The capability, e.g. churn-risk."),
    dataset: str | None = typer.Option(
        None, "--dataset", help="Score the rows of this lake dataset (they carry the capability's key)."
    ),
    query: str | None = typer.Option(
        None,
        "--query",
        help='Score the rows of DuckDB SQL over lake datasets, e.g. "SELECT ... FROM tickets".',
    ),
    write_back: bool = typer.Option(
        False, "--write-back", help="Upsert the scores into the capability's write_back table."
    ),
    out: Path | None = typer.Option(None, "--out", help="Write the scores to a .parquet or .csv file."),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Show what --write-back or --out would write, and write nothing."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Score a capability in batch: every entity (tabular and forecast capabilities), a dataset's rows or a
    query's rows, with the serving model version and the capability's rules; optionally written back."""
    from zhongtai.integrate.score_file import file_format

    if dataset is not None and query is not None:
        raise ZhongtaiError("invalid_argument", "give --dataset or --query, not both")
    if dry_run and not (write_back or out):
        raise ZhongtaiError("invalid_argument", "--dry-run needs --write-back or --out")
    if out is not None:
        file_format(out)  # a bad target fails before the scoring, not after
    started = time.monotonic()
    scores = _scores(capability, dataset, query, write_back)
    summary = _summary(capability, scores)
    if write_back:
        summary["write_back"] = _write_back(scores, dry_run)
    if out is not None:
        summary["out"] = _write_file(scores, out, dry_run)
    summary["seconds"] = round(time.monotonic() - started, 2)
    if dry_run and not as_json:
        _preview(scores)
    if as_json:
        print_json(summary)
        return
    _print(summary)


def _scores(capability: str, dataset: str | None, query: str | None, write_back: bool) -> BatchScores:
    from zhongtai.capabilities.batch import score_batch
    from zhongtai.capabilities.batch_input import dataset_rows, query_rows
    from zhongtai.features.online.base import open_online_store
    from zhongtai.spec.models import TABULAR_TASKS, CapabilitySpec, ModelSpec

    store, lake = context.store(), context.lake()
    spec = CapabilitySpec.model_validate(store.spec("capabilities", capability))
    task = ModelSpec.model_validate(store.spec("models", spec.model)).task
    if write_back and spec.write_back is None:
        raise ZhongtaiError(
            "invalid_argument",
            f"capability '{capability}' has no write_back target",
            "add write_back: {source: NAME, table: TABLE} to its spec, or write a file with --out",
        )
    rows: BatchRows | None = None
    if dataset is not None:
        rows = dataset_rows(store, lake, dataset)
    elif query is not None:
        rows = query_rows(store, lake, query)
    online = None if task in TABULAR_TASKS else open_online_store(context.settings().online_url)
    try:
        with progress() as bar:
            total = rows.table.num_rows if rows is not None else None
            task_id = bar.add_task(f"score {capability}", total=total, detail="")

            def moved(done: int, total: int) -> None:
                bar.update(task_id, completed=done, total=total)

            return score_batch(store, lake, capability, rows, online=online, on_progress=moved)
    finally:
        if online is not None:
            online.close()


def _summary(capability: str, scores: BatchScores) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "capability": capability,
        "model": {"name": scores.model.model, "version": scores.model.version},
        "scored": scores.table.num_rows,
        "decisions": scores.counts("decision"),
    }
    if scores.groups is not None:  # a recommendation: rows are (person, rank)
        summary["persons"] = scores.groups.num_rows
    routes = scores.counts("route")
    if routes:
        summary["routes"] = routes
    return summary


def _write_back(scores: BatchScores, dry_run: bool) -> dict[str, Any]:
    from zhongtai.integrate.writeback import write_scores

    with progress() as bar:
        task = bar.add_task("write back", total=scores.table.num_rows, detail="")
        done = write_scores(
            context.store(), scores, dry_run=dry_run, on_progress=lambda n: bar.update(task, advance=n)
        )
    return {
        "source": done.source,
        "table": done.table,
        "run_id": done.run_id,
        "written": done.written,
        "inserted": done.inserted,
        "updated": done.updated,
        "unchanged": done.unchanged,
        "removed": done.removed,
        "dry_run": done.dry_run,
    }


def _write_file(scores: BatchScores, out: Path, dry_run: bool) -> dict[str, Any]:
    from zhongtai.integrate.score_file import write_file
    from zhongtai.integrate.writeback import new_run

    run_id, scored_at = new_run()
    written = 0 if dry_run else write_file(scores, out, run_id, scored_at)
    return {"path": str(out), "run_id": run_id, "written": written, "dry_run": dry_run}


def _preview(scores: BatchScores) -> None:
    table = Table(*scores.table.column_names, title="dry run: the first rows", title_justify="left")
    for row in scores.table.slice(0, PREVIEW_ROWS).to_pylist():
        table.add_row(*("" if v is None else str(v) for v in row.values()))
    console.print(table)


def _print(summary: dict[str, Any]) -> None:
    model = summary["model"]
    persons = f" for {summary['persons']:,} persons" if "persons" in summary else ""
    table = Table(
        "decision",
        "rows",
        title=f"{summary['capability']}: {summary['scored']:,} rows scored{persons} with "
        f"{model['name']} v{model['version']}",
        title_justify="left",
    )
    for decision, count in summary["decisions"].items():
        table.add_row(decision, f"{count:,}")
    console.print(table)
    if "routes" in summary:
        console.print("routes: " + ", ".join(f"{r} {n:,}" for r, n in summary["routes"].items()))
    back = summary.get("write_back")
    if back:
        verb = "would write" if back["dry_run"] else "wrote"
        console.print(
            f"{verb} {back['written']:,} rows to {back['table']} in source '{back['source']}' "
            f"({back['inserted']:,} new, {back['updated']:,} updated, {back['unchanged']:,} unchanged"
            f"{', ' + format(back['removed'], ',') + ' removed' if back['removed'] else ''}; "
            f"run {back['run_id']})"
        )
    out = summary.get("out")
    if out:
        verb = "would write" if out["dry_run"] else "wrote"
        console.print(f"{verb} {summary['scored']:,} rows to {out['path']}")
    console.print(f"{summary['seconds']:.1f} s")
