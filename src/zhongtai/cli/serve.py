"""`zhongtai serve`: the HTTP gateway for every registered capability."""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path

import typer

from zhongtai.cli import context
from zhongtai.cli.output import err_console


def register(app: typer.Typer) -> None:
    """Add the `serve` command to the root app."""

    @app.command("serve")
    def serve(
        host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on."),
        port: int = typer.Option(8700, "--port", min=1, max=65535, help="Port to listen on."),
        workers: int = typer.Option(
            1,
            "--workers",
            min=1,
            max=64,
            help="Processes serving the one port (one per core is a good start).",
        ),
        scheduler: bool = typer.Option(
            False, "--scheduler", help="Also run the project's scheduled jobs in a background thread."
        ),
        project: Path = typer.Option(
            Path("."),
            "--project",
            "-p",
            envvar="ZT_PROJECT",
            help="With --scheduler: the folder declaring them.",
        ),
    ) -> None:
        """Serve the capabilities over HTTP: POST /v1/capabilities/{name}/decide.

        Body limits: ZT_MAX_BODY_BYTES (1 MiB; 413), ZT_MAX_JSON_DEPTH (32), ZT_MAX_STRING_CHARS (65536).

        Decisions are logged by a writer process beside each worker (ZT_DECISION_WRITER=thread: a thread).

        API docs at /docs (no internet needed), the OpenAPI document at /openapi.json.
        """
        from zhongtai.gateway.server import serve as run

        shown = f", {workers} worker processes" if workers > 1 else ""
        halt = _start_scheduler(project) if scheduler else None  # a bad schedule fails before serving
        err_console.print(f"gateway on http://{host}:{port}{shown} (Ctrl+C to stop)")
        try:
            run(context.settings(), host, port, workers=workers)
        finally:
            if halt is not None:
                halt()


def _start_scheduler(folder: Path) -> Callable[[], None]:
    """The scheduler in a background thread; leases keep replicas that all pass --scheduler from running a
    job twice."""
    from zhongtai.cli.scheduler import build_scheduler
    from zhongtai.scheduler.runner import in_background

    scheduler = build_scheduler(folder)
    # uvicorn re-raises SIGTERM once it has shut down; a no-op handler under its own lets `serve` return, so
    # the scheduler's running job finishes and is recorded instead of dying with the process.
    signal.signal(signal.SIGTERM, lambda _signum, _frame: None)
    err_console.print(f"scheduler in the background: {len(scheduler.jobs)} jobs")
    return in_background(scheduler)
