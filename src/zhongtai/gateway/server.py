"""Run the gateway under uvicorn: quiet logs, no access log, graceful shutdown that flushes decisions."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from zhongtai.config import Settings


def serve(
    settings: Settings,
    host: str = "127.0.0.1",
    port: int = 8700,
    on_ready: Callable[[], None] | None = None,
    workers: int = 1,
) -> None:
    """Serve until SIGINT/SIGTERM; the app's lifespan then flushes the decision log before exiting.

    `on_ready` is called once the server accepts connections and its capabilities are loaded. With
    `workers` > 1, uvicorn runs that many processes on the one socket; each builds its own app from the
    environment (the settings come from ZT_* variables, which the processes inherit) and shares nothing
    but the stores, so `on_ready` is not called.
    """
    import uvicorn

    from zhongtai.gateway.app import create_app

    # In-flight requests get `timeout_graceful_shutdown` seconds after a signal; then the lifespan shutdown.
    if workers > 1:
        from zhongtai.monitor.metrics import prepare_multiprocess

        # Each worker counts into files of one directory, so /metrics on any of them sums them all.
        prepare_multiprocess(settings.home, port)
        uvicorn.run(
            "zhongtai.gateway.app:app_from_environment",
            factory=True,
            workers=workers,
            host=host,
            port=port,
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=10,
        )
        return
    config = uvicorn.Config(
        create_app(settings),
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=10,
    )
    server = uvicorn.Server(config)
    if on_ready is not None:
        threading.Thread(target=_notify_when_started, args=(server, on_ready), daemon=True).start()
    server.run()


def _notify_when_started(server: object, on_ready: Callable[[], None]) -> None:
    # uvicorn sets `started` after the lifespan startup (capabilities loaded) and the socket is bound.
    while not getattr(server, "started", False):
        if getattr(server, "should_exit", False):
            return
        time.sleep(0.05)
    on_ready()
