"""`zhongtai demo`: the retail scenario end to end on embedded stores, then the gateway on 127.0.0.1."""

from __future__ import annotations

import json
import threading
import time
from typing import TYPE_CHECKING

import typer

from zhongtai.cli import context
from zhongtai.cli.output import console, err_console
from zhongtai.config import Settings

if TYPE_CHECKING:
    from zhongtai.features.streaming import StreamConsumer
    from zhongtai.scenarios.retail.simulate import Plan

STAGES = ("generate", "apply", "ingest", "oneid", "features", "train", "write back", "api key")


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)


def demo(
    customers: int = typer.Option(5_000, "--customers", min=300, help="Size of the generated retailer."),
    seed: int = typer.Option(7, "--seed", help="Random seed of the generator."),
    port: int = typer.Option(8700, "--port", min=1, max=65535, help="Port of the gateway on 127.0.0.1."),
    serve: bool = typer.Option(True, "--serve/--no-serve", help="Start the gateway when ready (default)."),
    live: bool = typer.Option(
        False, "--live", help="Also replay the clickstream and stock as live streams into the served demo."
    ),
    rate: float = typer.Option(
        200.0, "--rate", min=1, help="With --live: click events published per second."
    ),
    simulate_days: int = typer.Option(
        0,
        "--simulate-days",
        min=0,
        help="Instead of serving: live this many simulated days of churn decisions, with a promotion that "
        "shifts behaviour, drift checks and the retrain flywheel; prints a timeline and writes "
        "simulation.svg (docs/retail.md#simulation).",
    ),
    shift_day: int = typer.Option(
        12, "--shift-day", min=1, help="With --simulate-days: the promotion's day."
    ),
    sample: int = typer.Option(
        400, "--sample", min=50, help="With --simulate-days: customers decided each simulated day."
    ),
) -> None:
    """Generate the retail systems, ingest, resolve persons (OneID), build features, train, write scores back,
    then serve decisions (or, with --simulate-days, live simulated days through the retrain flywheel)."""
    from zhongtai.scenarios.retail.demo import prepare

    plan = _plan(simulate_days, shift_day, sample, seed)
    started = time.perf_counter()
    settings = context.settings()
    err_console.print(f"Zhongtai demo in [bold]{settings.home}[/bold] (ZT_HOME), {customers:,} customers")
    with err_console.status("generate") as status:

        def on_stage(stage: str, detail: str) -> None:
            err_console.print(f"[green]✓[/green] {stage:<11} {detail}")
            following = STAGES.index(stage) + 1
            if following < len(STAGES):
                status.update(STAGES[following])

        report = prepare(settings, customers, seed, on_stage)
    err_console.print(f"ready in {time.perf_counter() - started:.0f} s")
    if plan is not None:
        if live:
            err_console.print("[yellow]--live needs the gateway: a simulation does not serve[/yellow]")
        _simulate(settings, plan)
        return
    curl = "\n".join(
        f"curl -s -X POST http://127.0.0.1:{port}/v1/capabilities/{capability}/decide "
        f"-H 'Authorization: Bearer {report.api_key}' -H 'Content-Type: application/json' "
        f"-d '{json.dumps(body, ensure_ascii=False)}'"
        for capability, body in report.examples.items()
    )
    if not serve:
        if live:
            err_console.print("[yellow]--live needs the gateway: it is ignored with --no-serve[/yellow]")
        console.print(curl, soft_wrap=True)
        return
    from zhongtai.gateway.server import serve as run

    stop = threading.Event()

    def on_ready() -> None:
        err_console.print(
            f"gateway on http://127.0.0.1:{port} (GET /healthz; Ctrl+C to stop). Try the curls, then the console:"
        )
        console.print(curl, soft_wrap=True)
        # The admin key goes to stdout with the curls' app key, never to the log-bound stderr.
        console.print(
            f"# console: http://127.0.0.1:{port}/console/ (admin key: {report.console_key})", soft_wrap=True
        )
        if live:
            _start_live(settings, stop, rate, port)

    try:
        run(settings, "127.0.0.1", port, on_ready=on_ready)
    finally:
        stop.set()


def _start_live(settings: Settings, stop: threading.Event, rate: float, port: int) -> None:
    """The stream consumer and the replay, each in a thread, until the gateway stops."""
    from zhongtai.features.online import open_online_store
    from zhongtai.scenarios.retail.live import LiveReport, replay

    consumer = live_consumer(settings)
    threading.Thread(target=consumer.run, args=(stop,), name="stream-consumer", daemon=True).start()
    online = open_online_store(settings.online_url)
    shown = {"at": 0.0}

    def on_progress(report: LiveReport) -> None:
        if time.monotonic() - shown["at"] < 5:
            return
        shown["at"] = time.monotonic()
        top = online.read("1001", ["product_activity"])["product_activity"] or {}
        err_console.print(
            f"live: {report.stock:,} stock rows, {report.clicks:,} clicks published; product 1001 now {top}",
            soft_wrap=True,
        )

    def play() -> None:
        report = replay(settings, stop, rate, on_progress)
        if report.finished:
            err_console.print(f"live: replay done ({report.clicks:,} clicks); the consumer keeps listening")

    err_console.print(
        f"live: replaying the last day of clicks at {rate:g}/s and the last week of stock; "
        f"freshness: curl -s http://127.0.0.1:{port}/metrics | grep zt_feature_freshness"
    )
    threading.Thread(target=play, name="live-replay", daemon=True).start()


def live_consumer(settings: Settings) -> StreamConsumer:
    """The stream consumer of the demo, on the demo's own stores."""
    from zhongtai.connect.streams import open_bus
    from zhongtai.features.online import open_online_store
    from zhongtai.features.streaming import FlushPolicy, StreamConsumer, stream_feeds
    from zhongtai.lake.storage import LakeStorage
    from zhongtai.meta.store import MetadataStore

    store = MetadataStore(settings.metadata_url)
    return StreamConsumer(
        store,
        LakeStorage(settings.lake_url),
        open_online_store(settings.online_url),
        open_bus(settings.bus_url),
        stream_feeds(store),
        group="demo",
        consumer="demo-live",
        policy=FlushPolicy(events=5000, seconds=5.0),
    )


def _plan(days: int, shift_day: int, sample: int, seed: int) -> Plan | None:
    """The simulation asked for (checked before the demo is prepared), or None."""
    from zhongtai.scenarios.retail.simulate import Plan

    return Plan(days=days, shift_day=shift_day, sample=sample, seed=seed) if days else None


def _simulate(settings: Settings, plan: Plan) -> None:
    """Live the simulated days on the prepared demo, printing each event as it happens, then the per-day
    table and the chart."""
    from zhongtai.features.online import open_online_store
    from zhongtai.lake.storage import LakeStorage
    from zhongtai.meta.store import MetadataStore
    from zhongtai.scenarios.retail.simulate import simulate
    from zhongtai.scenarios.retail.simulate_chart import write_chart

    started = time.perf_counter()
    err_console.print(
        f"simulating {plan.days} days, {plan.sample} customers a day, a promotion on day {plan.shift_day}"
    )

    def on_event(day: int, text: str) -> None:
        console.print(f"day {day:>2} [{time.perf_counter() - started:5.0f} s]  {text}", soft_wrap=True)

    store, online = MetadataStore(settings.metadata_url), open_online_store(settings.online_url)
    try:
        days = simulate(store, LakeStorage(settings.lake_url), online, plan, on_event)
    finally:
        online.close()
        store.close()
    console.print("day  live AUC  drift share")
    for day in days:
        auc = "   -" if day.auc is None else f"{day.auc:.3f}"
        drift = "   -" if day.drift_share is None else f"{day.drift_share:.2f}"
        console.print(f"{day.day:>3}  {auc:>8}  {drift:>11}")
    chart = write_chart(
        settings.home / "simulation.svg", [d.auc for d in days], [d.drift_share for d in days], plan.shift_day
    )
    err_console.print(
        f"chart: {chart} (blue: live AUC, orange: drift share, red: the promotion); "
        f"timeline: zhongtai flywheel history; done in {time.perf_counter() - started:.0f} s"
    )
