"""`zhongtai demo`: the retail scenario end to end on embedded stores, then the gateway on 127.0.0.1."""

from __future__ import annotations

import time

import typer

from zhongtai.cli import context
from zhongtai.cli.output import console, err_console

STAGES = ("generate", "apply", "ingest", "oneid", "features", "train", "write back", "api key")


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)


def demo(
    customers: int = typer.Option(5_000, "--customers", min=300, help="Size of the generated retailer."),
    seed: int = typer.Option(7, "--seed", help="Random seed of the generator."),
    port: int = typer.Option(8700, "--port", min=1, max=65535, help="Port of the gateway on 127.0.0.1."),
    serve: bool = typer.Option(True, "--serve/--no-serve", help="Start the gateway when ready (default)."),
) -> None:
    """Generate the retail systems, ingest, resolve persons (OneID), build features, train, write scores back,
    then serve decisions."""
    from zhongtai.scenarios.retail.demo import prepare

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
    curl = (
        f"curl -s -X POST http://127.0.0.1:{port}/v1/capabilities/churn-risk/decide "
        f"-H 'Authorization: Bearer {report.api_key}' -H 'Content-Type: application/json' "
        f"-d '{{\"customer_id\": {report.customer_id}}}'"
    )
    if not serve:
        console.print(curl, soft_wrap=True)
        return
    from zhongtai.gateway.server import serve as run

    def on_ready() -> None:
        err_console.print(f"gateway on http://127.0.0.1:{port} (GET /healthz; Ctrl+C to stop). Try:")
        console.print(curl, soft_wrap=True)

    run(settings, "127.0.0.1", port, on_ready=on_ready)
