"""`zhongtai capabilities`: what serves each capability, and its traffic split changed live.

`split`, `canary` and `promote` act on the metadata store, or with `ZT_URL` through that gateway as
`ZT_KEY`'s principal (cli/governed.py); they print the same either way.
"""

from __future__ import annotations

import typer
from rich.table import Table

from zhongtai.cli import context
from zhongtai.cli.governed import backend
from zhongtai.cli.output import console, print_json

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
    from zhongtai.errors import ZhongtaiError

    if reset:
        if arms:
            raise ZhongtaiError(
                "invalid_argument", "--reset takes no arms", f"zhongtai capabilities split {name} --reset"
            )
        found = backend().reset_split(name, reason)
        console.print(f"{name}: live split dropped" if found else f"{name}: no live split to drop")
        return
    if not arms:
        raise ZhongtaiError(
            "invalid_argument", "give the arms and their weights", "e.g. champion=90 challenger=10"
        )
    done = backend().split(name, arms, reason)
    weights = [arm["weight"] for arm in done["policy"]["arms"]]
    shares = ", ".join(f"{arm['name']} {arm['weight'] / sum(weights):.0%}" for arm in done["policy"]["arms"])
    console.print(f"{name}: {shares} (set by {done['by']}; gateways follow within seconds)")


@app.command("canary")
def canary(
    name: str = typer.Argument(..., help="The capability."),
    arm: str = typer.Option(..., "--arm", help="The arm (an alias, or vVERSION) to ramp against the others."),
    steps: str = typer.Option("5,25,50,100", "--steps", help="Percent of traffic at each step, rising."),
    every: str = typer.Option("10m", "--every", help="How long each step must hold, like 10m or 1h."),
    complete: str = typer.Option(
        "hold", "--complete", help="At the last step: hold (for `capabilities promote`) or promote by itself."
    ),
    reason: str = typer.Option("", "--reason", help="Why: kept in the change log."),
) -> None:
    """Start a guarded canary ramp of one arm: its share steps up while error rate, fallback rate, p99 and
    score shift hold (guards: the spec's `traffic.canary.guards`, or the defaults), and drops to 0 at once
    with the reason recorded when one trips. Every gateway judges its own traffic every few seconds."""
    from zhongtai.errors import ZhongtaiError

    try:
        percents = [float(p) for p in steps.split(",") if p.strip()]
    except ValueError:
        raise ZhongtaiError(
            "invalid_argument", f"--steps {steps!r}: give percents like 5,25,50,100"
        ) from None
    policy = backend().canary(name, arm, percents, every, complete, reason)
    first = policy["canary"]["steps"][0] if policy.get("canary") else 0
    console.print(f"{name}: canary {arm} starts at {first:g}%, steps {steps} every {every}")


@app.command("promote")
def promote(
    name: str = typer.Argument(..., help="The capability whose held canary is promoted."),
    reason: str = typer.Option("", "--reason", help="Why: kept in the alias history."),
) -> None:
    """Promote a canary that completed its ramp and waits (`complete: hold`): champion moves to the canary
    arm's version (four eyes apply as for any alias move) and the live split is dropped."""
    model, version = backend().promote(name, reason)
    console.print(f"{name}: champion is now {model} v{version}; the live split is dropped")


@app.command("replay")
def replay(
    name: str = typer.Argument(..., help="The capability."),
    version: str = typer.Option(
        ..., "--version", help="The version to judge: a number, vNUMBER or an alias."
    ),
    since: str = typer.Option("7d", "--since", help="How far back, like 7d or 12h."),
    limit: int = typer.Option(1_000_000, "--limit", min=1, help="At most this many decisions, oldest first."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Re-score the capability's logged decisions with another model version, from the feature values they
    were answered with, and report agreement, score shift and the decisions that would flip."""
    from datetime import timedelta

    from zhongtai.capabilities.replay import replay as run
    from zhongtai.cli.output import progress
    from zhongtai.errors import ZhongtaiError
    from zhongtai.meta.time import now
    from zhongtai.spec.base import duration_seconds

    try:
        start = now() - timedelta(seconds=duration_seconds(since))
    except ValueError as exc:
        raise ZhongtaiError("invalid_argument", f"--since: {exc}") from None
    with progress() as bar:
        task = bar.add_task("replay", total=None, detail=f"since {start:%Y-%m-%d %H:%M}")
        report = run(
            context.store(),
            context.lake(),
            name,
            version,
            start,
            limit,
            lambda n: bar.update(task, completed=n),
        )
    if as_json:
        print_json(report.to_dict())
        return
    console.print(
        f"{name}: {report.replayed:,} of {report.decisions:,} decisions replayed with v{report.candidate} "
        f"({report.fallbacks:,} fallbacks not re-scored)"
    )
    if report.replayed:
        console.print(
            f"agreement {report.agreement:.1%}, mean score shift {report.mean_shift:+.4f}, "
            f"mean |difference| {report.mean_abs_diff:.4f}, PSI {report.psi if report.psi is not None else '-'}"
        )
        for flip, count in list(report.flips.items())[:10]:
            console.print(f"  {flip}: {count:,}")
    console.print(report.quality)


@app.command("stream")
def stream(
    name: str = typer.Argument(..., help="The capability."),
    requests: str = typer.Option(..., "--requests", help="The bus stream the requests arrive on."),
    decisions: str = typer.Option(..., "--decisions", help="The bus stream the decisions are published to."),
    group: str = typer.Option("zhongtai-decide", "--group", help="Consumer group (one per deployment)."),
    consumer: str = typer.Option("decider-1", "--consumer", help="This consumer's name in the group."),
) -> None:
    """Answer requests from a bus stream (ZT_BUS_URL: embedded, Redis, NATS, Kafka) and publish decisions to
    another, at least once and idempotent on each event's `request_id`, until Ctrl+C. Each request event is
    {"request_id": ..., "inputs": {...}} (or the inputs beside the id)."""
    import threading
    import time

    from zhongtai.capabilities.serving import Capabilities, RegistryWatcher
    from zhongtai.cli.output import err_console
    from zhongtai.connect.streams import open_bus
    from zhongtai.features.online import open_online_store
    from zhongtai.integrate.stream_decisions import StreamDecider

    settings = context.settings()
    store = context.store()
    online = open_online_store(settings.online_url)
    capabilities = Capabilities.load_all(store, context.lake(), online)
    capabilities.get(name)  # an unknown or unloadable capability says so before anything is consumed
    watcher = RegistryWatcher(capabilities, store.serving_signal, settings.serving_poll_seconds).start()
    bus = open_bus(settings.bus_url)
    decider = StreamDecider(
        name, capabilities, store, bus, requests, decisions, group, consumer, f"stream:{consumer}"
    )
    stop = threading.Event()
    worker = threading.Thread(target=decider.run, args=(stop,), name="stream-decider", daemon=True)
    worker.start()
    err_console.print(f"{name}: answering {requests} → {decisions} (group {group}); Ctrl+C to stop")
    try:
        while worker.is_alive():
            time.sleep(5)
            s = decider.stats
            err_console.print(f"answered {s.answered:,}, repeated {s.repeated:,}, refused {s.refused:,}")
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        worker.join(timeout=30)
        watcher.close()
        bus.close()
        online.close()
