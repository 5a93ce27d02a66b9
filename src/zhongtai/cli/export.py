"""`zhongtai export`: a capability as a self-contained bundle (the edge); a registered spec as the YAML a
project file holds; schedules as an Airflow DAG."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.markup import escape

from zhongtai.cli import context
from zhongtai.cli.output import console, err_console, print_json, progress

if TYPE_CHECKING:
    from zhongtai.integrate.bundle import ExportedBundle

app = typer.Typer(no_args_is_help=True)


@app.command("bundle")
def bundle(
    capability: str = typer.Argument(..., help="The capability to export."),
    out: Path = typer.Option(..., "--out", help="The folder to write (absent or empty; see --replace)."),
    entities: Path | None = typer.Option(
        None,
        "--entities",
        help="A file of entity keys, one per line as a caller sends them: their online feature values "
        "go into the bundle, so it decides by key offline.",
    ),
    replace: bool = typer.Option(False, "--replace", help="Overwrite a bundle exported to --out before."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Write the model version each traffic arm of CAPABILITY serves now (its alias alone by default),
    feature order, rules and score bands, on-demand expressions, fallback, a copy of the edge runtime and a
    manifest of SHA-256 digests into a folder that decides with numpy and LightGBM alone:
    `python -m zhongtai_edge decide DIR '{"customer_id": ...}'` (docs/edge.md).
    """
    from zhongtai.features.online.base import open_online_store
    from zhongtai.govern.policy import require_cli
    from zhongtai.integrate.bundle import bundle_parts, export_bundle, read_entities
    from zhongtai.spec.models import CapabilitySpec

    store, storage = context.store(), context.lake()
    model = CapabilitySpec.model_validate(store.spec("capabilities", capability)).model
    require_cli(store, "read_models", model)  # the bundle carries the model itself
    parts = bundle_parts(store, storage, capability)
    keys = read_entities(entities) if entities is not None else []
    if keys:
        for view in parts.body["views"]:
            require_cli(store, "read_features", view)  # and, with --entities, the stored values
    online = open_online_store(context.settings().online_url)
    try:
        with progress() as bar:
            task = bar.add_task(
                "snapshot", total=len(keys) or None, detail=f"{len(keys):,} entities", visible=bool(keys)
            )
            exported = export_bundle(
                online,
                parts,
                out,
                entities=keys,
                replace=replace,
                progress=lambda done, total: bar.update(task, completed=done),
            )
    finally:
        online.close()
    if as_json:
        print_json(exported.to_dict())
    else:
        _show(exported)


def _show(exported: ExportedBundle) -> None:
    """The summary for people: what was written, its arms and snapshot, and how to try it."""
    for note in exported.notes:
        err_console.print(f"[yellow]note[/yellow] {escape(note)}", soft_wrap=True)
    console.print(
        f"[green]bundle[/green] {escape(exported.capability)}: {escape(exported.model)} v{exported.version} "
        f"({exported.artifact_format}) written to {escape(str(exported.path))}",
        soft_wrap=True,
    )
    if len(exported.arms) > 1:
        total = sum(a["weight"] for a in exported.arms) or 1
        shares = ", ".join(f"{a['name']} v{a['version']} {a['weight'] / total:.0%}" for a in exported.arms)
        console.print(f"  arms: {escape(shares)} (sticky by entity key, as the gateway)")
    size = sum((exported.path / name).stat().st_size for name in exported.files)
    console.print(f"  {len(exported.files)} files, {size / 1024:,.0f} KiB, SHA-256 of each in manifest.json")
    if exported.entities:
        console.print(f"  snapshot: {exported.known:,} of {exported.entities:,} entities with stored values")
    console.print(
        f"  try: cd {escape(str(exported.path))} && python -m zhongtai_edge verify .", soft_wrap=True
    )


@app.command("spec")
def spec(
    kind: str = typer.Argument(..., help="The spec kind: capabilities."),
    name: str = typer.Argument(..., help="The registered object, e.g. a capability composed in the console."),
    out: Path | None = typer.Option(None, "--out", help="Write the YAML to this file instead of stdout."),
) -> None:
    """Write a registered spec as the YAML document a project file holds (what the console's composer
    applied), so the git repository of specs can take it: `zhongtai plan` of that file shows no change."""
    from zhongtai.govern.policy import require_cli
    from zhongtai.spec.documents import export_spec

    store = context.store()
    require_cli(store, "read_models", name, kind)
    _, text = export_spec(store, kind, name)
    if out is None:
        typer.echo(text, nl=False)
        return
    out.write_text(text, encoding="utf-8")
    err_console.print(f"wrote {escape(str(out))}")


@app.command("airflow")
def airflow(
    out: Path = typer.Option(..., "--out", help="The DAG file to write, e.g. dags/zhongtai.py."),
    folder: Path = typer.Option(
        Path("."), "--project", "-p", envvar="ZT_PROJECT", help="The project folder declaring `schedules`."
    ),
    command: str = typer.Option(
        "zhongtai", "--command", help="How Airflow's workers run the CLI, e.g. '/opt/zt/bin/zhongtai'."
    ),
) -> None:
    """Write the project's schedules as an Airflow DAG file: one DAG per job, one BashOperator task each,
    running the job's `zhongtai` command on its schedule (docs/scheduler.md)."""
    from zhongtai.scheduler.airflow import write_dag
    from zhongtai.scheduler.jobs import declared_jobs

    jobs = declared_jobs(folder)
    write_dag(jobs, out, command)
    console.print(f"wrote {len(jobs)} DAG{'s' if len(jobs) != 1 else ''} to {escape(str(out))}")
