"""`zhongtai serve`: the HTTP gateway for every registered capability."""

from __future__ import annotations

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
    ) -> None:
        """Serve the capabilities over HTTP: POST /v1/capabilities/{name}/decide.

        Body limits: ZT_MAX_BODY_BYTES (1 MiB; 413), ZT_MAX_JSON_DEPTH (32), ZT_MAX_STRING_CHARS (65536).

        API docs at /docs (no internet needed), the OpenAPI document at /openapi.json.
        """
        from zhongtai.gateway.server import serve as run

        shown = f", {workers} worker processes" if workers > 1 else ""
        err_console.print(f"gateway on http://{host}:{port}{shown} (Ctrl+C to stop)")
        run(context.settings(), host, port, workers=workers)
