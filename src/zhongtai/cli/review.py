"""`zhongtai review`: work the review queue — list, show, claim, accept, correct, assign, escalate.

The CLI acts as its principal (ZT_PRINCIPAL or the login name, docs/governance.md), asked of the same policy
engine the gateway uses: `review` on the item's capability, and `see_explanation` for feature values.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
from rich.table import Table

from zhongtai.cli import context
from zhongtai.cli.output import console, print_json

if TYPE_CHECKING:
    from zhongtai.govern.policy import PolicyEngine
    from zhongtai.govern.principal import Principal
    from zhongtai.meta.review import ReviewItem
    from zhongtai.meta.store import MetadataStore

app = typer.Typer(no_args_is_help=True)
AS_JSON = typer.Option(False, "--json", help="Print JSON.")


def _engine() -> tuple[MetadataStore, Principal, PolicyEngine]:
    from zhongtai.govern.policy import cli_principal, load_engine

    store = context.store()
    return store, cli_principal(), load_engine(store)


def _item(store: MetadataStore, decision_id: str) -> ReviewItem:
    from zhongtai.meta.review import missing_item

    item = store.review.get(decision_id)
    if item is None:
        raise missing_item(decision_id)
    return item


def _print_item(item: ReviewItem, as_json: bool) -> None:
    if as_json:
        print_json(item.to_dict())
        return
    who = f", {item.assignee}" if item.assignee else ""
    verdict = (
        f": {item.verdict}" + (f" {item.value}" if item.value is not None else "") if item.verdict else ""
    )
    console.print(f"{item.decision_id} {item.capability}/{item.queue} {item.status}{who}{verdict}")


@app.command("list")
def list_items(
    capability: str | None = typer.Option(None, "--capability", help="Only this capability's items."),
    queue: str | None = typer.Option(None, "--queue", help="Only this queue's items, e.g. vip_care."),
    status: str | None = typer.Option(None, "--status", help="open, assigned, escalated or done."),
    mine: bool = typer.Option(False, "--mine", help="Only the items assigned to me."),
    overdue: bool = typer.Option(False, "--overdue", help="Only pending items past their deadline."),
    offset: int = typer.Option(0, "--offset", min=0, help="Skip this many items (pagination)."),
    limit: int = typer.Option(50, "--limit", min=1, max=500, help="At most this many items."),
    as_json: bool = AS_JSON,
) -> None:
    """Review items, soonest deadline first, of the capabilities I may review."""
    from zhongtai.errors import ZhongtaiError
    from zhongtai.meta.review import ReviewFilter, ReviewStatus
    from zhongtai.meta.time import now

    store, principal, engine = _engine()
    if status is not None and status not in set(ReviewStatus):
        raise ZhongtaiError(
            "invalid_argument", f"--status {status!r} is not one of open, assigned, escalated, done"
        )
    names = [capability] if capability else store.review.capabilities()
    allowed = tuple(n for n in names if engine.check(principal, "review", n).allowed)
    if capability and not allowed:
        engine.require(principal, "review", capability)
    where = ReviewFilter(
        queue=queue, status=ReviewStatus(status) if status else None, assignee=principal.name if mine else None,
        overdue_at=now() if overdue else None, capabilities=allowed,
    )  # fmt: skip
    items, total = store.review.page(where, offset, limit)
    if as_json:
        print_json({"items": [i.to_dict() for i in items], "total": total, "offset": offset, "limit": limit})
        return
    if not items:
        console.print("no review items match")
        return
    at = now()
    table = Table("decision", "capability", "queue", "status", "assignee", "deadline")
    table.title = f"review items {offset + 1}-{offset + len(items)} of {total}"
    table.title_justify = "left"
    for item in items:
        late = " [red](overdue)[/red]" if item.overdue(at) else ""
        deadline = item.deadline.strftime("%Y-%m-%d %H:%M") + late
        table.add_row(
            item.decision_id, item.capability, item.queue, str(item.status), item.assignee or "-", deadline
        )
    console.print(table)


@app.command("show")
def show(
    decision_id: str = typer.Argument(..., help="The item's decision id."), as_json: bool = AS_JSON
) -> None:
    """One item with its decision's explanation (feature values only if I may see explanations)."""
    from zhongtai.flywheel.review import item_detail

    store, principal, engine = _engine()
    item = _item(store, decision_id)
    engine.require(principal, "review", item.capability)
    detail = item_detail(store, decision_id, engine, principal)
    if as_json:
        print_json(detail)
        return
    _print_item(item, False)
    decision = detail["decision"] or {}
    console.print(f"deadline {detail['deadline']}{' (overdue)' if detail['overdue'] else ''}")
    console.print(f"answer {decision.get('decision')} score {decision.get('score')}")
    print_json(
        {k: decision.get(k) for k in ("inputs", "output", "features", "feature_names") if k in decision}
    )


@app.command("claim")
def claim(
    decision_id: str = typer.Argument(..., help="The item's decision id."), as_json: bool = AS_JSON
) -> None:
    """Take an item: it is mine until resolved."""
    store, principal, engine = _engine()
    item = _item(store, decision_id)
    rule = engine.require(principal, "review", item.capability).rule
    _print_item(store.review.assign(decision_id, principal.name, principal.name, rule), as_json)


@app.command("assign")
def assign(
    decision_id: str = typer.Argument(..., help="The item's decision id."),
    to: str = typer.Option(..., "--to", help="The reviewer who takes it over."),
    as_json: bool = AS_JSON,
) -> None:
    """Give an item to a reviewer, taking it from whoever held it."""
    store, principal, engine = _engine()
    item = _item(store, decision_id)
    rule = engine.require(principal, "review", item.capability).rule
    _print_item(store.review.assign(decision_id, to, principal.name, rule, take_over=True), as_json)


def _resolve(decision_id: str, verdict: str, value: str | None, comment: str, as_json: bool) -> None:
    from zhongtai.flywheel.review import Verdict, resolve

    store, principal, engine = _engine()
    item = _item(store, decision_id)
    rule = engine.require(principal, "review", item.capability).rule
    done, new = resolve(store, decision_id, Verdict(verdict, value, comment), principal.name, rule)
    if not as_json and not new:
        console.print("already resolved with this verdict: nothing changed")
    _print_item(done, as_json)


@app.command("accept")
def accept(
    decision_id: str = typer.Argument(..., help="The item's decision id."),
    comment: str = typer.Option("", "--comment", help="Why, kept with the feedback."),
    as_json: bool = AS_JSON,
) -> None:
    """The answer was right: records a `verdict` (accept) and a `label` (the answer) as feedback."""
    _resolve(decision_id, "accept", None, comment, as_json)


@app.command("correct")
def correct(
    decision_id: str = typer.Argument(..., help="The item's decision id."),
    value: str = typer.Option(..., "--value", help="The right class, e.g. refund."),
    comment: str = typer.Option("", "--comment", help="Why, kept with the feedback."),
    as_json: bool = AS_JSON,
) -> None:
    """The answer was wrong: records the right class as the `verdict` and the `label` feedback."""
    _resolve(decision_id, "correct", value, comment, as_json)


@app.command("escalate")
def escalate(
    to: list[str] = typer.Option([], "--to", help="QUEUE=ASSIGNEE: who takes a queue's overdue items."),
    as_json: bool = AS_JSON,
) -> None:
    """Escalate every open or assigned item past its deadline (run it from a scheduler, e.g. every 5 min)."""
    from zhongtai.flywheel.review import escalate_overdue, escalation_targets

    targets = escalation_targets(to)
    store, principal, engine = _engine()
    allowed = tuple(n for n in store.review.capabilities() if engine.check(principal, "review", n).allowed)
    rule = engine.may_ever(principal, "review").rule
    found = escalate_overdue(store, principal.name, rule, targets, None, allowed)
    if as_json:
        print_json({"items": [i.to_dict() for i in found]})
        return
    console.print(f"escalated {len(found)} overdue review item{'s' if len(found) != 1 else ''}")
    for item in found:
        _print_item(item, False)
