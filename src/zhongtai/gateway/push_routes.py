"""Feature pushes and Prometheus metrics on the gateway.

`POST /v1/features/{view}/push` needs `push_features` on the view: it writes what decisions read.
`GET /metrics` is unauthenticated, as Prometheus scrapes it; it carries counts and timings, never values.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

from zhongtai.features.freshness import exposition
from zhongtai.gateway.authz import Access, allow
from zhongtai.gateway.openapi import EXAMPLE_PUSH, SECURED, errors

if TYPE_CHECKING:
    from zhongtai.gateway.app import Gateway

_ITEMS = {"type": "array", "minItems": 1, "items": {"type": "object"}}
_PUSH_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "anyOf": [
                    {"required": ["rows"], "properties": {"rows": _ITEMS}, "description": "feature values"},
                    {"required": ["events"], "properties": {"events": _ITEMS}, "description": "raw events"},
                ],
            },
            "example": EXAMPLE_PUSH,
        }
    },
}
_METRICS: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Prometheus text exposition",
        "content": {"text/plain": {"schema": {"type": "string"}}},
    }
}


def add_push_routes(app: FastAPI, json_object: Any) -> None:
    """Mount the push endpoint and /metrics."""

    @app.post(
        "/v1/features/{view}/push",
        tags=["features"],
        responses=errors(400, 401, 403, 404, 413, 422, 429),
        openapi_extra={**SECURED, "requestBody": _PUSH_BODY},
    )
    async def push(
        view: str, request: Request, access: Annotated[Access, allow("push_features", "view")]
    ) -> JSONResponse:
        """Events for a window view (`events`), or latest values for any other online view (`rows`)."""
        received_at = time.time()
        gateway: Gateway = request.app.state.gateway
        body = await json_object(request)
        # The bus and the online store block: off the event loop that serves decisions.
        answer = await run_in_threadpool(gateway.push.push, view, body, received_at)
        return JSONResponse(answer)

    @app.get("/metrics", tags=["operations"], response_class=PlainTextResponse, responses=_METRICS)
    async def prometheus() -> Response:
        """Prometheus metrics: feature freshness, pushes and anything else registered in this process."""
        body, content_type = exposition()
        return Response(body, media_type=content_type)
