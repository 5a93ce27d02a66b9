"""Every failure on the gateway as one JSON shape, {code, message, hint}, with the status of its `ErrorCode`.

A caller's mistake is a 4xx naming what is wrong; only a bug in Zhongtai is a 500, and its traceback goes to
the log, never to the caller. Headers a status needs (`Allow` on a 405) are kept.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from zhongtai.errors import ErrorCode, ZhongtaiError

log = logging.getLogger(__name__)
# The statuses Starlette and FastAPI raise by themselves (an unknown route, a method the route lacks...).
_CODE_OF_STATUS = {
    400: ErrorCode.INVALID_JSON,
    401: ErrorCode.UNAUTHORIZED,
    403: ErrorCode.FORBIDDEN,
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.METHOD_NOT_ALLOWED,
    406: ErrorCode.NOT_ACCEPTABLE,
    413: ErrorCode.PAYLOAD_TOO_LARGE,
    415: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
    429: ErrorCode.RATE_LIMITED,
    503: ErrorCode.UNAVAILABLE,
}
_HINTS = {
    ErrorCode.NOT_FOUND: "GET /docs lists the routes",
    ErrorCode.METHOD_NOT_ALLOWED: "the Allow header lists the methods this route takes",
}


def error_response(
    code: ErrorCode,
    message: str,
    hint: str | None = None,
    status: int | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """The JSON error body; the status is the code's unless a raised HTTP status says otherwise."""
    return JSONResponse(
        {"code": str(code), "message": message, "hint": hint},
        status_code=status or code.status,
        headers=headers,
    )


def add_error_handlers(app: FastAPI) -> None:
    """Turn every exception a route can raise into an error response."""

    @app.exception_handler(ZhongtaiError)
    async def zhongtai_error(request: Request, exc: ZhongtaiError) -> JSONResponse:
        if exc.http_status >= 500:
            log.error("%s on %s %s: %s", exc.code, request.method, request.url.path, exc.message)
        retry_after = getattr(exc, "retry_after", None)  # a rate limit says when to come back
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
        return error_response(exc.code, exc.message, exc.hint, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        # loc and msg name the parameter and the rule; the input value stays out (it may be personal data).
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', '')}" for e in exc.errors()
        )
        return error_response(ErrorCode.INVALID_ARGUMENT, problems or "invalid request", "GET /docs")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        fallback = ErrorCode.INTERNAL if exc.status_code >= 500 else ErrorCode.INVALID_ARGUMENT
        code = _CODE_OF_STATUS.get(exc.status_code, fallback)
        headers = exc.headers
        if exc.status_code == 405:
            # Starlette's Allow names the methods of the first route matching the path only; a path served by
            # several routes (PUT and DELETE of one alias) takes all of them.
            headers = {**(headers or {}), "Allow": ", ".join(sorted(_allowed_methods(request)))}
        return error_response(
            code, str(exc.detail), _HINTS.get(code), status=exc.status_code, headers=headers
        )

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(ErrorCode.INTERNAL, "internal error", "the gateway log has the details")


def _allowed_methods(request: Request) -> set[str]:
    """Every method some route of the app takes on the request's path."""
    methods: set[str] = set()
    for route in request.app.routes:
        regex = getattr(route, "path_regex", None)
        if regex is not None and regex.match(request.url.path):
            methods |= set(getattr(route, "methods", None) or ())
    return methods
