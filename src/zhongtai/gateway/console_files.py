"""Serving the console's files (zhongtai/console/static) at /console, with headers that keep its pages from
running anyone else's code. The gateway reads them as package data: it imports nothing of the console.

`/console/pages.json` lists the page modules found in `static/pages/` when the app is built, so a page is
added by adding its file; the shell imports each and draws the navigation from what they declare.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

STATIC = Path(str(files("zhongtai.console") / "static"))
# Scripts, styles and data only from the gateway itself: an injected tag or an inline handler cannot run.
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # The shell and its modules change with each release; a stale module beside a new API breaks pages.
    "Cache-Control": "no-cache",
}


class ConsoleFiles(StaticFiles):
    """The static files, each response with the console's headers."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers.update(HEADERS)
        return response


def page_modules(folder: Path = STATIC / "pages") -> list[str]:
    """The page modules' file names, sorted (the shell orders them by what each declares)."""
    return sorted(p.name for p in folder.glob("*.js"))


def add_console(app: FastAPI) -> None:
    """Mount the console at /console (it is public: a page holds no data until the API answers it)."""
    pages = page_modules()

    async def listing(request: Request) -> Any:
        return JSONResponse({"pages": pages}, headers=HEADERS)

    async def bare(request: Request) -> Any:
        return RedirectResponse("/console/", status_code=308)

    app.router.routes.append(Route("/console/pages.json", listing, methods=["GET"]))
    app.router.routes.append(Route("/console", bare, methods=["GET"]))
    app.router.routes.append(Mount("/console", ConsoleFiles(directory=STATIC, html=True), name="console"))
