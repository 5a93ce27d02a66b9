"""Feature pushes and Prometheus metrics on the gateway.

`POST /v1/features/{view}/push` needs a key with the `push` or `admin` role: it writes what decisions read.
`GET /metrics` is unauthenticated, as Prometheus scrapes it; it carries counts and timings, never values.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from zhongtai.features.freshness import exposition

if TYPE_CHECKING:
    from zhongtai.gateway.app import Gateway

WRITER_ROLES = ("push", "admin")
_PUSH_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"type": "object", "additionalProperties": True},
                "example": {
                    "events": [
                        {
                            "event_id": "E1",
                            "ts": "2026-12-02T10:00:00+08:00",
                            "user_id": "A100",
                            "event_type": "view",
                        }
                    ]
                },
            }
        },
    }
}


def add_push_routes(app: FastAPI, presented_key: Any, json_object: Any) -> None:
    """Mount the push endpoint and /metrics."""

    @app.post("/v1/features/{view}/push", tags=["features"], openapi_extra=_PUSH_BODY)
    async def push(view: str, request: Request) -> JSONResponse:
        """Events for a window view (`events`), or latest values for any other online view (`rows`)."""
        received_at = time.time()
        gateway: Gateway = request.app.state.gateway
        gateway.keys.require(presented_key(request), WRITER_ROLES, "push features")
        body = await json_object(request)
        # The bus and the online store block: off the event loop that serves decisions.
        answer = await run_in_threadpool(gateway.push.push, view, body, received_at)
        return JSONResponse(answer)

    @app.get("/metrics", tags=["operations"])
    async def prometheus() -> Response:
        """Prometheus metrics: feature freshness, pushes and anything else registered in this process."""
        body, content_type = exposition()
        return Response(body, media_type=content_type)
