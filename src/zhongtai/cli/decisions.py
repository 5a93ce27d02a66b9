"""`zhongtai decisions`: the decision log, read back as the CLI's principal may see it.

Reading is `read_audit`; each decision is masked by the principal's `see_pii` on its capability and shows
its explanation only with `see_explanation` (capabilities/decision_view.py, docs/pii.md). The CLI acts as a
local admin, so it sees everything unless a deny rule names `ZT_PRINCIPAL`.
"""

from __future__ import annotations

import typer
from rich.markup import escape
from rich.table import Table

from zhongtai.cli import context
from zhongtai.cli.output import console, print_json
from zhongtai.errors import ZhongtaiError

app = typer.Typer(no_args_is_help=True)
JSON = typer.Option(False, "--json", help="Print JSON.")


@app.callback()
def _group() -> None:
    """The decision log: what each capability answered, masked for the reader."""


@app.command("list")
def list_decisions(
    capability: str | None = typer.Option(None, "--capability", "-c", help="Only this capability."),
    limit: int = typer.Option(20, "--limit", "-n", min=1, max=1000, help="How many, newest first."),
    as_json: bool = JSON,
) -> None:
    """The newest decisions, of the capabilities the CLI's principal may read."""
    from zhongtai.capabilities.decision_view import KIND, decision_view
    from zhongtai.govern.policy import load_engine, require_cli

    store = context.store()
    principal = require_cli(store, "read_audit", capability or "*", KIND)
    engine = load_engine(store)
    recent = store.decisions.recent(capability, limit)
    shown = [
        decision_view(r, engine, principal)
        for r in recent
        if engine.check(principal, "read_audit", r.capability, KIND).allowed
    ]
    if as_json:
        print_json(shown)
        return
    table = Table("at", "capability", "decision", "score", "model", "inputs")
    for d in shown:
        score = "" if d["score"] is None else f"{d['score']:.4f}"
        model = f"{d['model']['name']} v{d['model']['version']}"
        table.add_row(d["at"][:19], d["capability"], d["decision"], score, model, escape(str(d["inputs"])))
    console.print(table if shown else "no decisions logged")


@app.command("show")
def show(decision_id: str = typer.Argument(..., help="A decision id."), as_json: bool = JSON) -> None:
    """One logged decision: inputs, answer, model and (with see_explanation) its explanation."""
    from zhongtai.capabilities.decision_view import KIND, decision_view
    from zhongtai.govern.policy import load_engine, require_cli

    store = context.store()
    found = store.decisions.by_ids([decision_id])
    if not found:
        raise ZhongtaiError("not_found", f"no decision '{decision_id}' is in the log", None)
    principal = require_cli(store, "read_audit", found[0].capability, KIND)
    shown = decision_view(found[0], load_engine(store), principal)
    if as_json:
        print_json(shown)
        return
    for key, value in shown.items():
        console.print(f"[bold]{key}[/bold]: {escape(str(value))}")
