"""`GET /metrics`: Prometheus's scrape target (docs/metrics.md lists every metric).

It needs no credential, as Prometheus scrapes it: it carries counts, timings and the names of capabilities,
arms and feature views, never a value a caller sent or a feature held.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

from zhongtai.monitor.metrics import exposition

_METRICS: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Prometheus text exposition",
        "content": {"text/plain": {"schema": {"type": "string"}}},
    }
}


def add_metrics_route(app: FastAPI) -> None:
    """Mount /metrics."""

    @app.get("/metrics", tags=["operations"], response_class=PlainTextResponse, responses=_METRICS)
    async def prometheus(request: Request) -> Response:
        """Prometheus metrics: decisions, fallbacks, shadows, feature freshness and missing values, the
        decision log, traffic, canaries and feedback."""
        gateway = request.app.state.gateway
        collector = gateway.metrics if gateway is not None else None
        # The scrape-time collector may read the metadata store: off the event loop that serves decisions.
        body, content_type = await run_in_threadpool(exposition, collector)
        return Response(body, media_type=content_type)
