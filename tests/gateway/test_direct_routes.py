"""A direct route answers as the same route through FastAPI would: its guard, its endpoint, the app's errors."""

from __future__ import annotations

from typing import Annotated, Any

import pytest
from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient

from zhongtai.errors import ErrorCode, ZhongtaiError
from zhongtai.gateway.authz import Guard
from zhongtai.gateway.direct_routes import DirectRoutes
from zhongtai.gateway.error_responses import add_error_handlers

PATH = "/v1/things/{name}/do"


class Door(Guard):
    """A guard that lets in the key `open` (the real one asks the gateway's identities and policy)."""

    async def __call__(self, request: Request) -> Any:
        if request.headers.get("x-api-key") != "open":
            raise ZhongtaiError(ErrorCode.UNAUTHORIZED, "no key", "send X-API-Key")
        return f"access for {self.action}"


def app_with(extra_route: bool = False) -> FastAPI:
    app = FastAPI()
    add_error_handlers(app)

    @app.post(PATH)
    async def do(name: str, request: Request, access: Annotated[Any, Depends(Door("call", "name"))]) -> Any:
        if name == "boom":
            raise RuntimeError("a bug, with a secret in it: 13912345678")
        if name == "bad":
            raise ZhongtaiError(ErrorCode.INVALID_ARGUMENT, "field 'x' is wrong", "send x")
        body = await request.json()
        # The router puts itself in the scope; a direct route never passes through it.
        return JSONResponse(
            {"name": name, "access": access, "body": body, "routed": "router" in request.scope}
        )

    if extra_route:

        @app.post("/v1/queried/{name}")
        async def queried(name: str, limit: int, access: Annotated[Any, Depends(Door("call"))]) -> Any:
            return JSONResponse({})

    app.add_middleware(
        DirectRoutes,
        owner=app,
        paths=[("POST", PATH)] + ([("POST", "/v1/queried/{name}")] if extra_route else []),
    )
    return app


@pytest.fixture
def client() -> TestClient:
    return TestClient(app_with(), raise_server_exceptions=False)


def test_the_route_is_answered_by_its_endpoint_without_the_router(client):
    answer = client.post("/v1/things/abc/do", json={"x": 1}, headers={"X-API-Key": "open"})
    assert answer.status_code == 200
    assert answer.json() == {"name": "abc", "access": "access for call", "body": {"x": 1}, "routed": False}


def test_the_guard_refusal_is_the_apps_error_body(client):
    answer = client.post("/v1/things/abc/do", json={}, headers={"X-API-Key": "shut"})
    assert answer.status_code == 401
    assert answer.json() == {"code": "unauthorized", "message": "no key", "hint": "send X-API-Key"}


def test_an_endpoints_zhongtai_error_is_its_4xx(client):
    answer = client.post("/v1/things/bad/do", json={}, headers={"X-API-Key": "open"})
    assert answer.status_code == 422
    assert answer.json() == {"code": "invalid_argument", "message": "field 'x' is wrong", "hint": "send x"}


def test_a_bug_is_a_500_without_traceback_or_values(client):
    answer = client.post("/v1/things/boom/do", json={}, headers={"X-API-Key": "open"})
    assert answer.status_code == 500
    assert answer.json()["code"] == "internal"
    assert "Traceback" not in answer.text and "13912345678" not in answer.text


def test_other_methods_and_paths_go_through_the_stack(client):
    wrong_method = client.get("/v1/things/abc/do", headers={"X-API-Key": "open"})
    assert wrong_method.status_code == 405 and wrong_method.headers["allow"] == "POST"
    assert client.post("/v1/things/abc/undo", json={}).status_code == 404


def test_a_route_needing_the_solver_is_refused_by_name():
    client = TestClient(app_with(extra_route=True))
    with pytest.raises(
        ValueError, match=r"/v1/queried/\{name\} cannot be direct: its parameters \['limit'\]"
    ):
        client.post("/v1/things/abc/do", json={}, headers={"X-API-Key": "open"})
