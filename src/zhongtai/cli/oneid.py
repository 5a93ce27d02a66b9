"""`zhongtai oneid`: resolve customer records into persons, inspect runs, explain a pair."""

from __future__ import annotations

import typer
from rich.markup import escape
from rich.table import Table

from zhongtai.cli import context
from zhongtai.cli.output import console, err_console, print_json

app = typer.Typer(no_args_is_help=True)


@app.callback()
def _group() -> None:
    """OneID: one stable person id across every source system."""


@app.command("run")
def run(
    name: str | None = typer.Argument(None, help="The identity spec to resolve (default: the only one)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Resolve the datasets an `identities` spec of the project names into persons."""
    from zhongtai.identity.run import run_oneid
    from zhongtai.spec.identity import IdentitySpec

    store = context.store()
    registered = store.registered("identities")
    if name is None:
        if len(registered) != 1:
            from zhongtai.errors import ZhongtaiError

            raise ZhongtaiError(
                "invalid_argument",
                f"{len(registered)} identity specs are registered ({', '.join(sorted(registered)) or 'none'})",
                "declare one under `identities:` in the project (the retail scenario ships one), or name it",
            )
        name = next(iter(registered))
    config = IdentitySpec.model_validate(store.spec("identities", name))
    stats = run_oneid(
        store,
        context.lake(),
        config,
        lambda s: err_console.print(f"[dim]{s}[/dim]"),
        engine=context.offline_engine(),
    )
    if as_json:
        print_json(stats)
        return
    console.print(
        f"run {stats['run_id']}: {stats['records']:,} records → {stats['persons']:,} persons · "
        f"{stats['ids_changed']:,} ids changed · {stats['events']:,} merge/split events"
    )


@app.command("stats")
def stats(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """The current run's figures."""
    import json
    import posixpath

    from zhongtai.identity.run import current, run_dir

    lake = context.lake()
    pointer = current(lake)
    if pointer is None:
        from zhongtai.errors import ZhongtaiError

        raise ZhongtaiError("not_found", "OneID has not run yet", "run `zhongtai oneid run`")
    with lake.fs.open(posixpath.join(run_dir(lake, pointer["run_id"]), "stats.json"), "r") as f:
        found = json.load(f)
    if as_json:
        print_json(found)
        return
    for key, value in found.items():
        console.print(f"{key}: {escape(str(value))}")


@app.command("explain")
def explain(
    record_a: str = typer.Argument(..., help="A record id, <dataset>:<key>."),
    record_b: str = typer.Argument(..., help="Another record id."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Why two records are (or are not) the same person: shared keys and per-comparison evidence."""
    from zhongtai.identity.explain import explain as explain_pair

    found = explain_pair(context.lake(), record_a, record_b)
    if as_json:
        print_json(found)
        return
    same = "same person" if found["same_person"] else "different persons"
    console.print(f"{record_a} ({found['person_a']}) · {record_b} ({found['person_b']}): {same}")
    for key in found["deterministic"]:
        console.print(f"  deterministic: {key['rule']} = {escape(str(key['value']))}")
    prob = found["probabilistic"]
    table = Table(
        "comparison", "level", "Bayes factor", title=f"match probability {prob['match_probability']:.4f}"
    )
    for e in prob["comparisons"]:
        table.add_row(
            e["comparison"],
            escape(str(e["level"])),
            f"{e['bayes_factor']:.3g}" if e["bayes_factor"] is not None else "",
        )
    console.print(table)
