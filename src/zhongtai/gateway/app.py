"""The HTTP gateway: `POST /v1/capabilities/{name}/decide` and friends, as a FastAPI app.

Handlers are thin: check the key, find the runtime, decide, hand the record to the decision log, answer.
Every client error is a JSON body {code, message, hint}; a server error is a 500 with no traceback.
This module imports FastAPI at the top on purpose: only `zhongtai serve` imports it.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from zhongtai.capabilities.decision_log import DecisionLog, spill_path
from zhongtai.capabilities.keys import ApiKeys, Principal
from zhongtai.capabilities.runtime import Capabilities, Decision
from zhongtai.capabilities.serving import RegistryWatcher
from zhongtai.config import Settings
from zhongtai.errors import ZhongtaiError
from zhongtai.features.online.base import OnlineStore, open_online_store
from zhongtai.features.push import FeaturePush
from zhongtai.gateway.catalog_routes import add_catalog_routes
from zhongtai.gateway.features_routes import add_feature_routes
from zhongtai.gateway.json_body import FeatureJSONResponse
from zhongtai.gateway.models_routes import add_model_routes
from zhongtai.gateway.push_routes import add_push_routes
from zhongtai.lake.storage import LakeStorage
from zhongtai.meta.records import DecisionRecord
from zhongtai.meta.store import MetadataStore
from zhongtai.meta.time import now

log = logging.getLogger(__name__)
_DECIDE_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"type": "object", "additionalProperties": True},
                "example": {"customer_id": "100005", "context": {"channel": "app"}},
            }
        },
    }
}


@dataclass
class Gateway:
    """What the app holds while serving: stores, loaded capabilities, key checks, the decision log."""

    store: MetadataStore
    online: OnlineStore
    capabilities: Capabilities
    keys: ApiKeys
    decisions: DecisionLog
    push: FeaturePush
    watcher: RegistryWatcher

    @classmethod
    def open(cls, settings: Settings) -> Gateway:
        """Open every store and load every capability (models are loaded and warmed here, not per request);
        then follow the registry: a moved alias or changed spec is swapped in within the poll interval."""
        store = MetadataStore(settings.metadata_url)
        online = open_online_store(settings.online_url)
        capabilities = Capabilities.load_all(store, LakeStorage(settings.lake_url), online)
        watcher = RegistryWatcher(capabilities, store.serving_signal, settings.serving_poll_seconds).start()
        decisions = DecisionLog(store.decisions, spill_path(settings.home)).start()
        push = FeaturePush(store, online, settings.bus_url)
        return cls(store, online, capabilities, ApiKeys(store.access), decisions, push, watcher)

    def close(self) -> None:
        """Stop following the registry, then flush the decision log: its records must not be lost."""
        self.watcher.close()
        self.decisions.close()
        self.push.close()
        self.online.close()
        self.store.close()


def _error(status: int, code: str, message: str, hint: str | None = None) -> JSONResponse:
    return JSONResponse({"code": code, "message": message, "hint": hint}, status_code=status)


def _presented_key(request: Request) -> str | None:
    authorization = request.headers.get("authorization")
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
    return request.headers.get("x-api-key")


async def _json_object(request: Request) -> dict[str, Any]:
    """The request body as a JSON object; invalid_argument (422) otherwise."""
    raw = await request.body()
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ZhongtaiError(
            "invalid_argument", f"the request body is not valid JSON: {exc}", "send a JSON object"
        ) from None
    if not isinstance(body, dict):
        raise ZhongtaiError(
            "invalid_argument",
            f"the request body must be a JSON object, got {type(body).__name__}",
            'send {"<input field>": ..., "context": {...}}',
        )
    return body


def _record(
    decision: Decision, principal: Principal, inputs: dict[str, Any], latency_ms: float
) -> DecisionRecord:
    return DecisionRecord(
        id=decision.decision_id,
        at=now(),
        capability=decision.capability,
        principal=principal.name,
        model_name=decision.model_name,
        model_version=decision.model_version,
        decision=decision.decision,
        score=decision.score,
        fallback=decision.fallback,
        inputs=inputs,
        features=decision.features,
        latency_ms=latency_ms,
    )


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ZhongtaiError)
    async def zhongtai_error(request: Request, exc: ZhongtaiError) -> JSONResponse:
        return _error(exc.http_status, exc.code, exc.message, exc.hint)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', '')}" for e in exc.errors()
        )
        return _error(422, "invalid_argument", problems or "invalid request")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {401: "unauthorized", 404: "not_found", 405: "method_not_allowed"}.get(
            exc.status_code, "error"
        )
        return _error(exc.status_code, code, str(exc.detail))

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception) -> JSONResponse:
        # The traceback goes to the log, never to the caller.
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return _error(500, "internal", "internal error", "the gateway log has the details")


def _add_routes(app: FastAPI) -> None:
    def gateway() -> Gateway:
        return app.state.gateway

    @app.get("/healthz", tags=["operations"])
    async def healthz() -> JSONResponse:
        """200 once every capability is loaded; 503 before (a readiness probe)."""
        if getattr(app.state, "gateway", None) is None:
            return _error(503, "unavailable", "capabilities are loading")
        return JSONResponse({"status": "ok"})

    @app.get("/v1/capabilities", tags=["capabilities"])
    async def list_capabilities(request: Request) -> JSONResponse:
        """The loaded capabilities and the model version each serves right now (it follows the registry)."""
        gw = gateway()
        gw.keys.check(_presented_key(request))
        stale = gw.capabilities.stale
        return JSONResponse(
            {
                "capabilities": [
                    {
                        "name": r.name,
                        "description": r.spec.description,
                        "input": r.input,
                        "model": {"name": r.model_name, "version": r.model_version, "alias": r.spec.alias},
                        "decisions": [d.decision for d in r.spec.decisions],
                        "loaded_at": datetime.fromtimestamp(r.loaded_at, UTC).isoformat(),
                        **({"reload_error": stale[r.name]} if r.name in stale else {}),
                    }
                    for r in gw.capabilities.runtimes()
                ],
                "not_loaded": gw.capabilities.errors,
            }
        )

    # async on purpose: the predict is a few tens of microseconds of CPU, cheaper inline than a thread hop.
    # The online read blocks the loop for its duration: a local call on SQLite, a network round trip on Redis.
    @app.post("/v1/capabilities/{name}/decide", tags=["capabilities"], openapi_extra=_DECIDE_BODY)
    async def decide(name: str, request: Request) -> JSONResponse:
        """Decide for one entity: the body holds the capability's input field and optional context."""
        started = time.perf_counter()
        gw = gateway()
        principal = gw.keys.check(_presented_key(request))
        runtime = gw.capabilities.get(name)
        inputs = await _json_object(request)
        decision = runtime.decide(inputs)
        latency_ms = (time.perf_counter() - started) * 1000
        gw.decisions.submit(_record(decision, principal, inputs, latency_ms))
        return FeatureJSONResponse({**decision.to_dict(), "latency_ms": round(latency_ms, 3)})


def create_app(settings: Settings) -> FastAPI:
    """The gateway app; its lifespan opens the stores, loads the capabilities and starts the decision log."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        gateway = Gateway.open(settings)
        app.state.gateway = gateway
        try:
            yield
        finally:
            app.state.gateway = None
            gateway.close()

    app = FastAPI(
        title="Zhongtai gateway",
        summary="Governed AI capabilities as decision APIs.",
        version="1",
        lifespan=lifespan,
    )
    app.state.gateway = None
    _add_error_handlers(app)
    _add_routes(app)
    add_catalog_routes(app, _presented_key)
    add_feature_routes(app, _presented_key, _json_object)
    add_push_routes(app, _presented_key, _json_object)
    add_model_routes(app, _presented_key)
    return app
