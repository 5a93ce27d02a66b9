"""Run the gateway under uvicorn: quiet logs, no access log, graceful shutdown that flushes decisions."""

from __future__ import annotations

from zhongtai.config import Settings


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 8700) -> None:
    """Serve until SIGINT/SIGTERM; the app's lifespan then flushes the decision log before exiting."""
    import uvicorn

    from zhongtai.gateway.app import create_app

    config = uvicorn.Config(
        create_app(settings),
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        # In-flight requests get this long to finish after a signal; then the lifespan shutdown runs.
        timeout_graceful_shutdown=10,
    )
    uvicorn.Server(config).run()
