"""Feature pushes on the gateway: `POST /v1/features/{view}/push` needs `push_features` on the view: it
writes what decisions read."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

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


def add_push_routes(app: FastAPI, json_object: Any) -> None:
    """Mount the push endpoint."""

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
