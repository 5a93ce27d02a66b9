"""`zhongtai score`: a capability over every entity in batch, optionally written back to the source system."""

from __future__ import annotations

import typer
from rich.table import Table

from zhongtai.cli import context
from zhongtai.cli.output import console, err_console, print_json, progress


def register(app: typer.Typer) -> None:
    app.command("score")(score)


def score(
    capability: str = typer.Argument(..., help="The capability, e.g. churn-risk."),
    write_back: bool = typer.Option(
        False, "--write-back", help="Upsert scores into the capability's write_back table."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Score every entity with the capability's model and rules (offline features, latest values)."""
    from zhongtai.capabilities.batch import score_all
    from zhongtai.integrate.writeback import write_back as upsert

    store = context.store()
    scores = score_all(store, context.lake(), capability, on_progress=lambda m: err_console.print(m))
    written = 0
    if write_back:
        with progress() as bar:
            task = bar.add_task("write back", total=scores.table.num_rows, detail="")
            written = upsert(store, scores, on_progress=lambda n: bar.update(task, advance=n))
    counts: dict[str, int] = {}
    for decision in scores.table.column("decision").to_pylist():
        counts[decision] = counts.get(decision, 0) + 1
    summary = {
        "capability": capability,
        "model": {"name": scores.model.model, "version": scores.model.version},
        "scored": scores.table.num_rows,
        "decisions": counts,
        "written_back": written,
        "table": scores.capability.write_back.table if write_back and scores.capability.write_back else None,
    }
    if as_json:
        print_json(summary)
        return
    table = Table(
        "decision",
        "entities",
        title=f"{capability}: {scores.table.num_rows:,} scored with "
        f"{scores.model.model} v{scores.model.version}",
        title_justify="left",
    )
    for decision, count in sorted(counts.items(), key=lambda item: -item[1]):
        table.add_row(decision, f"{count:,}")
    console.print(table)
    target = scores.capability.write_back
    if write_back and target is not None:
        console.print(f"wrote {written:,} rows to {summary['table']} in source '{target.source}'")
