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


IDENTITY = typer.Option(None, "--identity", help="The identity spec (default: the only one).")


@app.command("run")
def run(
    name: str | None = typer.Argument(None, help="The identity spec to resolve (default: the only one)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Resolve the datasets an `identities` spec of the project names into persons; lists the model
    levels the data could not train (they kept a prior, docs/oneid.md)."""
    from zhongtai.identity.run import identity_spec, run_oneid

    store = context.store()
    config = identity_spec(store, name)
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
        f"{stats['ids_changed']:,} ids changed · {stats['merges']:,} merges · {stats['splits']:,} splits · "
        f"datasets {config.golden_dataset}, {config.crosswalk_dataset}"
    )
    _print_untrainable(stats.get("untrainable_levels", []))


def _print_untrainable(levels: list[dict]) -> None:
    """The model's levels the data could not train, with the prior each kept (docs/oneid.md)."""
    if levels:
        console.print(f"{len(levels)} model levels kept their prior (the data could not train them):")
    for u in levels:
        console.print(
            f"  {escape(u['comparison'])} · {escape(u['level'])} · {u['probability']} = {u['value']:.3g}: "
            f"{escape(u['reason'])}"
        )


@app.command("stats")
def stats(
    name: str | None = IDENTITY, as_json: bool = typer.Option(False, "--json", help="Print JSON.")
) -> None:
    """Persons, records, merges and splits of the current run, and of every run before it; the model
    levels the data could not train (they kept a prior, docs/oneid.md)."""
    from zhongtai.identity.run import current_run, identity_spec

    store = context.store()
    config = identity_spec(store, name)
    current = current_run(store, config.name)
    runs = store.identities.runs(config.name)
    found = {
        "identity": config.name,
        "run_id": current.id,
        "at": current.created_at.isoformat(),
        "persons": current.persons,
        "records": current.records,
        "merges": current.merges,
        "splits": current.splits,
        "ids_changed": current.stats.get("ids_changed", 0),
        "inputs": current.inputs,
        "runs": len(runs),
        "merges_all_runs": sum(r.merges for r in runs),
        "splits_all_runs": sum(r.splits for r in runs),
        "datasets": [config.golden_dataset, config.crosswalk_dataset],
        "untrainable_levels": current.stats.get("untrainable_levels", []),
    }
    if as_json:
        print_json(found)
        return
    console.print(
        f"OneID '{config.name}' run {current.id} ({found['at'][:19]}): {current.persons:,} persons from "
        f"{current.records:,} records · {current.merges:,} merges · {current.splits:,} splits · "
        f"{found['ids_changed']:,} ids changed"
    )
    console.print(
        f"{len(runs)} runs in all: {found['merges_all_runs']:,} merges, {found['splits_all_runs']:,} splits"
    )
    console.print("inputs: " + escape(", ".join(f"{d} v{v}" for d, v in current.inputs.items())))
    _print_untrainable(found["untrainable_levels"])


@app.command("person")
def person(
    person_id: str = typer.Argument(..., help="A OneID person id."),
    name: str | None = IDENTITY,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """A person's golden record and the source records resolved into it, PII masked by class unless the
    policy lets the CLI's principal see it (docs/pii.md)."""
    from zhongtai.govern.masking import cli_disclosure, field_classes
    from zhongtai.identity.golden import person_record
    from zhongtai.identity.run import identity_spec

    store = context.store()
    config = identity_spec(store, name)
    seen = cli_disclosure(store, config.golden_dataset)
    found = person_record(
        store, context.lake(), config, person_id, field_classes(store.fields(config.golden_dataset)), seen
    )
    if as_json:
        print_json(found)
        return
    table = Table("field", "value", title=f"person {escape(person_id)} ({len(found['records'])} records)")
    for key, value in found["golden"].items():
        if value is not None:
            table.add_row(key, escape(str(value)))
    console.print(table)
    for record in found["records"]:
        console.print(f"  {escape(record)}")


@app.command("materialize")
def materialize(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Write the current crosswalk online as a lookup (source key -> person) for every capability called
    with a source system's key (`input_dataset`), so a decision finds the person in one read."""
    from zhongtai.features.keys import materialize_keys
    from zhongtai.features.online import open_online_store

    store = context.store()
    online = open_online_store(context.settings().online_url)
    try:
        written = materialize_keys(store, context.lake(), online)
    finally:
        online.close()
    if as_json:
        print_json(written)
        return
    if not written:
        console.print("no capability takes a source key (input_dataset): nothing to write")
    for view, rows in written.items():
        console.print(f"{view}: {rows:,} keys")


@app.command("explain")
def explain(
    record_a: str = typer.Argument(..., help="A record id, <dataset>:<key>."),
    record_b: str = typer.Argument(..., help="Another record id."),
    name: str | None = IDENTITY,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Why two records are (or are not) the same person: shared keys, per-comparison evidence and, for two
    persons, what keeps them apart (records that cannot be one person, two names in characters). Shared
    keys are masked by class unless the policy lets the CLI's principal see them (docs/pii.md)."""
    from zhongtai.govern.masking import cli_disclosure
    from zhongtai.identity.explain import explain as explain_pair
    from zhongtai.identity.explain import masked
    from zhongtai.identity.run import current_run, identity_spec

    store = context.store()
    config = identity_spec(store, name)
    location = current_run(store, config.name).location
    found = explain_pair(context.lake(), location, record_a, record_b)
    found = masked(found, cli_disclosure(store, config.golden_dataset))
    if as_json:
        print_json(found)
        return
    same = "same person" if found["same_person"] else "different persons"
    console.print(f"{record_a} ({found['person_a']}) · {record_b} ({found['person_b']}): {same}")
    for key in found["deterministic"]:
        console.print(f"  deterministic: {key['rule']} = {escape(str(key['value']))}")
    apart = found.get("kept_apart") or {}
    for c in apart.get("conflicts", []):
        console.print(
            f"  cannot be one person: {escape(c['record_a'])} · {escape(c['record_b'])} differ on {', '.join(c['differ'])}"
        )
    if apart.get("two_names"):
        console.print("  two names in characters: no link through a record without characters joins them")
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
