"""The hot routes without the framework's generic layers: the same guard, the same handler, the same errors.

Under load the layers every FastAPI request passes (the middleware stack, the router's scan of some hundred
routes, the dependency solver, the request-response wrappers) cost about 100 µs of CPU a request on this
project's two-core reference machine: a trivial endpoint answers ~7,400 requests/s through them and ~21,000
from a middleware in front of them. A full decision costs ~550 µs, so they were a sixth of the gateway's
single-worker throughput.

A direct route is an ordinary route of the app: declared with its `Guard` dependency as every governed route
is, so the OpenAPI document and the authorization matrix read it from the route table as before. What
differs is who calls its endpoint: `DirectRoutes`, a pure ASGI middleware, matches the request against the
route itself (`Route.matches`: its method, its path, its parameter convertors), awaits the guard, calls the
endpoint with the path parameters, the request and the guard's `Access`, and sends the response. Any
exception goes to the app's exception handlers exactly as through the stack (a `ZhongtaiError` is its 4xx
JSON body); one no handler takes goes on to the app's server-error handler (a 500 with no traceback).

Only a route whose endpoint takes nothing but path parameters, the request and one `Guard` can be direct:
anything else (a query parameter, a body model, a second dependency) needs the solver, and `DirectRoutes`
refuses it when the app starts rather than serve it wrongly.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

from zhongtai.gateway.authz import Guard


@dataclass(frozen=True)
class _Direct:
    """One route served directly: the route (it matches), its guard, its endpoint and parameter names."""

    route: APIRoute
    guard: Guard
    endpoint: Callable[..., Awaitable[Response]]
    request_name: str
    access_name: str


def _direct(route: APIRoute) -> _Direct:
    """The route as a direct route; ValueError naming what stands in the way."""
    dependant = route.dependant
    where = f"{sorted(route.methods or ())} {route.path}"
    extra = [
        p.name
        for p in (
            *dependant.query_params,
            *dependant.header_params,
            *dependant.cookie_params,
            *dependant.body_params,
        )
    ]
    if extra:
        raise ValueError(f"{where} cannot be direct: its parameters {extra} need FastAPI's solver")
    guards = [d for d in dependant.dependencies if isinstance(d.call, Guard)]
    if len(dependant.dependencies) != 1 or len(guards) != 1 or guards[0].name is None:
        raise ValueError(f"{where} cannot be direct: its one dependency must be its Guard")
    if dependant.request_param_name is None:
        raise ValueError(f"{where} cannot be direct: its endpoint must take the request")
    guard = guards[0].call
    assert isinstance(guard, Guard)
    return _Direct(route, guard, route.endpoint, dependant.request_param_name, guards[0].name)


class DirectRoutes:
    """ASGI middleware serving the app's direct routes (see the module docstring); every other request goes
    on through the stack. Install with `app.add_middleware(DirectRoutes, owner=app, paths=[...])`."""

    def __init__(self, app: ASGIApp, owner: FastAPI, paths: Sequence[tuple[str, str]]) -> None:
        self.app = app
        self._owner = owner
        self._paths = tuple(paths)
        self._routes: tuple[_Direct, ...] | None = None

    def _resolve(self) -> tuple[_Direct, ...]:
        """The routes of `paths` (method, path), looked up once every route is declared (the middleware
        stack is built on the first request)."""
        found = []
        for method, path in self._paths:
            routes = [
                r
                for r in self._owner.routes
                if isinstance(r, APIRoute) and r.path == path and method in (r.methods or ())
            ]
            if len(routes) != 1:
                raise ValueError(f"direct route {method} {path}: {len(routes)} routes declare it, not one")
            found.append(_direct(routes[0]))
        return tuple(found)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            if self._routes is None:
                self._routes = self._resolve()
            for direct in self._routes:
                match, child = direct.route.matches(scope)
                if match is Match.FULL:
                    await self._serve(direct, {**scope, **child}, receive, send)
                    return
        await self.app(scope, receive, send)

    async def _serve(self, direct: _Direct, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        try:
            access = await direct.guard(request)
            response = await direct.endpoint(
                **scope["path_params"], **{direct.request_name: request, direct.access_name: access}
            )
        except Exception as exc:
            handler = self._handler(exc)
            if handler is None:
                raise  # the app's server-error handler answers 500 and logs it
            response = await handler(request, exc)
        await response(scope, receive, send)

    def _handler(self, exc: Exception) -> Callable[[Request, Any], Awaitable[Response]] | None:
        """The app's handler for the exception's class or its nearest base (not the catch-all 500 one)."""
        handlers = self._owner.exception_handlers
        for cls in type(exc).__mro__:
            if cls is Exception:
                return None
            if cls in handlers:
                return handlers[cls]  # type: ignore[return-value]
        return None
