"""`zhongtai demo`: the retail scenario from source systems to a versioned lake, on embedded stores."""

from __future__ import annotations

import time

import typer

from zhongtai.cli import context
from zhongtai.cli.datasets import list_datasets
from zhongtai.cli.output import console, progress
from zhongtai.lake.ingest import ingest
from zhongtai.spec.plan import apply_plan, build_plan
from zhongtai.spec.project import load_project


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)


def demo(
    customers: int = typer.Option(5_000, "--customers", min=100, help="Size of the generated retailer."),
    seed: int = typer.Option(7, "--seed", help="Random seed of the generator."),
) -> None:
    """Generate the retail source systems, apply their specs and ingest every dataset into the lake."""
    from zhongtai.scenarios.retail.generate import generate

    started = time.perf_counter()
    settings = context.settings()
    out = settings.home / "demo" / "retail"
    console.print(f"Zhongtai demo in [bold]{settings.home}[/bold] (ZT_HOME)")
    with progress() as bar:
        task = bar.add_task("generate retail systems", total=None, detail="")
        report = generate(
            out,
            customers,
            seed=seed,
            on_progress=lambda stage, rows: bar.update(task, detail=f"{stage}: {rows:,}"),
        )
        bar.update(task, total=1, completed=1, detail=f"{customers:,} customers")
    store = context.store()
    plan = build_plan(load_project(report.project_dir), store)
    apply_plan(plan, store, actor="demo")
    console.print(
        f"applied {report.project_dir}: {plan.count('create')} created, {plan.count('update')} updated, "
        f"{plan.count('delete')} removed"
    )
    with progress() as bar:
        for summary in store.list_datasets():
            task = bar.add_task(f"ingest {summary.name}", total=None, detail="")
            result = ingest(
                store,
                context.lake(),
                summary.name,
                on_progress=lambda rows, t=task: bar.update(t, advance=rows),
            )
            bar.update(
                task,
                total=max(result.rows_read, 1),
                completed=max(result.rows_read, 1),
                detail=f"v{result.version}, {result.rows:,} rows",
            )
    list_datasets(as_json=False)
    console.print(
        f"ready in {time.perf_counter() - started:.0f} s. Next: `zhongtai datasets show erp_orders`, "
        "`zhongtai datasets preview crm_customers`."
    )
