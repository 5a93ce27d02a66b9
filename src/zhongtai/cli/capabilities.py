"""`zhongtai capabilities`: what serves each capability, and its traffic split changed live."""

from __future__ import annotations

import typer
from rich.table import Table

from zhongtai.cli import context
from zhongtai.cli.output import console, print_json
from zhongtai.models.runs import principal

app = typer.Typer(no_args_is_help=True)


@app.command("traffic")
def traffic(
    name: str = typer.Argument(..., help="The capability."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """The traffic policy in force (live split, the spec's traffic, or the alias alone) and its history."""
    from zhongtai.capabilities.traffic import effective_policy
    from zhongtai.spec.models import CapabilitySpec

    store = context.store()
    spec = CapabilitySpec.model_validate(store.spec("capabilities", name))
    live = store.traffic.get(name)
    policy = effective_policy(store, spec)
    origin = "live split" if live else ("spec" if spec.traffic else f"alias {spec.alias}")
    history = store.traffic.history(name)
    if as_json:
        print_json({"capability": name, "origin": origin, "policy": policy.model_dump(), "history": history})
        return
    table = Table("arm", "serves", "weight / sample", title=f"{name}: traffic from the {origin}")
    for arm in policy.arms:
        table.add_row(arm.name, arm.serves, f"{arm.weight:g}")
    for shadow in policy.shadows:
        table.add_row(f"{shadow.name} (shadow)", shadow.serves, f"{shadow.sample:.0%} of requests")
    console.print(table)
    for change in history[:5]:
        console.print(
            f"{change['at']:%Y-%m-%d %H:%M} {change['actor']} {change['action']}: {change.get('reason') or ''}"
        )


@app.command("split")
def split(
    name: str = typer.Argument(..., help="The capability."),
    arms: list[str] = typer.Argument(
        None, help="ALIAS=WEIGHT or vVERSION=WEIGHT, e.g. champion=90 challenger=10."
    ),
    reason: str = typer.Option("", "--reason", help="Why: kept in the change log."),
    reset: bool = typer.Option(
        False, "--reset", help="Drop the live split: the spec's traffic stands again."
    ),
) -> None:
    """Change the traffic split live: every gateway follows within its poll interval (ZT_SERVING_POLL).

    The same person keeps the same arm while the weights stand (a hash of the entity key). The split stands
    until `--reset` or the next split; shadows of the policy in force are kept.
    """
    from zhongtai.capabilities.traffic import effective_policy, parse_split, set_split
    from zhongtai.errors import ZhongtaiError
    from zhongtai.spec.models import CapabilitySpec

    store = context.store()
    who = principal()
    if reset:
        if arms:
            raise ZhongtaiError(
                "invalid_argument", "--reset takes no arms", f"zhongtai capabilities split {name} --reset"
            )
        found = store.traffic.reset(name, who, reason)
        console.print(f"{name}: live split dropped" if found else f"{name}: no live split to drop")
        return
    if not arms:
        raise ZhongtaiError(
            "invalid_argument", "give the arms and their weights", "e.g. champion=90 challenger=10"
        )
    spec = CapabilitySpec.model_validate(store.spec("capabilities", name))
    policy = set_split(store, name, parse_split(arms, effective_policy(store, spec)), who, reason)
    shares = ", ".join(f"{a.name} {a.weight / sum(x.weight for x in policy.arms):.0%}" for a in policy.arms)
    console.print(f"{name}: {shares} (set by {who}; gateways follow within seconds)")
