"""The HTTP gateway: `POST /v1/capabilities/{name}/decide` and friends, as a FastAPI app.

Handlers are thin: the route's one dependency (gateway/authz.py) authenticates, authorizes and rate-limits;
the handler finds the runtime, decides, hands the record to the decision log, answers.
Every client error is a JSON body {code, message, hint} (error_responses.py); every JSON body is read by
request_body.py under the configured limits; a server error is a 500 with no traceback.
This module imports FastAPI at the top on purpose: only `zhongtai serve` imports it.
"""

from __future__ import annotations

import gc
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi_offline import FastAPIOffline

from zhongtai.capabilities.canary import CanaryController
from zhongtai.capabilities.decision_log import DecisionHandOff, DecisionLog, spill_path
from zhongtai.capabilities.decision_writer import DecisionWriter
from zhongtai.capabilities.keys import ApiKeys
from zhongtai.capabilities.serving import Capabilities, RegistryWatcher
from zhongtai.capabilities.shadow import ShadowScorer
from zhongtai.config import Settings
from zhongtai.errors import ErrorCode, ZhongtaiError
from zhongtai.features.online.base import OnlineStore, open_online_store
from zhongtai.features.push import MAX_ITEMS, FeaturePush
from zhongtai.gateway.authz import EXPLAIN, Access, allow
from zhongtai.gateway.catalog_routes import add_catalog_routes
from zhongtai.gateway.console_files import add_console
from zhongtai.gateway.data_routes import add_data_routes
from zhongtai.gateway.decide_routes import add_batch_route, answer_once, check_context
from zhongtai.gateway.decisions_routes import add_decision_routes
from zhongtai.gateway.direct_routes import DirectRoutes
from zhongtai.gateway.error_responses import add_error_handlers, error_response
from zhongtai.gateway.features_routes import add_feature_routes
from zhongtai.gateway.governance_routes import add_governance_routes
from zhongtai.gateway.idempotency import Idempotency
from zhongtai.gateway.integration_routes import add_integration_routes
from zhongtai.gateway.me_routes import add_me_route
from zhongtai.gateway.metrics_routes import add_metrics_route
from zhongtai.gateway.models_routes import add_model_routes
from zhongtai.gateway.monitoring_routes import add_monitoring_routes
from zhongtai.gateway.oneid_routes import add_oneid_routes
from zhongtai.gateway.openapi import DECIDE_PATH, SECURED, decide_body, document, errors
from zhongtai.gateway.person_routes import add_person_routes
from zhongtai.gateway.push_routes import add_push_routes
from zhongtai.gateway.quality_routes import add_quality_routes
from zhongtai.gateway.report_routes import add_report_routes
from zhongtai.gateway.request_body import BodyLimits, json_object
from zhongtai.gateway.review_routes import add_review_routes
from zhongtai.gateway.runs_routes import add_run_routes
from zhongtai.gateway.specs_routes import add_spec_routes
from zhongtai.gateway.traffic_routes import add_traffic_routes
from zhongtai.govern.audit_head import head_file
from zhongtai.govern.identity import Identities
from zhongtai.govern.jwt import JwksVerifier, OidcSettings
from zhongtai.govern.limits import Limits, open_buckets
from zhongtai.govern.policy import LivePolicy, load_engine
from zhongtai.lake.storage import LakeStorage
from zhongtai.meta.records import DecisionRecord
from zhongtai.meta.store import MetadataStore
from zhongtai.monitor.alerts import AlertCenter
from zhongtai.monitor.metrics import DecisionObserver, MeteredDecisionLog
from zhongtai.monitor.metrics_collect import PlatformCollector, ProcessState, arms_of, feature_views


@dataclass
class Gateway:
    """What the app holds while serving: stores, loaded capabilities, identities, the policy in force, rate
    limits, the decision log."""

    store: MetadataStore
    online: OnlineStore
    capabilities: Capabilities
    identities: Identities
    policy: LivePolicy
    limits: Limits
    decisions: MeteredDecisionLog
    push: FeaturePush
    watcher: RegistryWatcher
    shadows: ShadowScorer
    canaries: CanaryController
    idempotency: Idempotency
    metrics: PlatformCollector

    @classmethod
    def open(cls, settings: Settings) -> Gateway:
        """Open every store and load every capability (models are loaded and warmed here, not per request);
        then follow the registry: a moved alias or changed spec is swapped in within the poll interval."""
        store = MetadataStore.from_settings(settings)
        online = open_online_store(settings.online_url)
        capabilities = Capabilities.load_all(store, LakeStorage(settings.lake_url), online)
        watcher = RegistryWatcher(capabilities, store.serving_signal, settings.serving_poll_seconds).start()
        observer = DecisionObserver(lambda name: feature_views(capabilities, name))
        for runtime in capabilities.runtimes():
            observer.declare(runtime.name, [arm.name for arm, _ in runtime.arms])
        writer: DecisionHandOff = (
            DecisionWriter(settings).start()
            if settings.decision_writer == "process"
            else DecisionLog(store.decisions, spill_path(settings.home)).start()
        )
        decisions = MeteredDecisionLog(writer, observer)
        # A push carries at most one row or event per KiB of the body limit: a count the OpenAPI document can
        # state, and one a body within the limit can reach.
        max_items = max(1, min(MAX_ITEMS, settings.max_body_bytes // 1024))
        push = FeaturePush(store, online, settings.bus_url, max_items=max_items)
        shadows = ShadowScorer(decisions)
        canaries = CanaryController(capabilities, store, alerts=AlertCenter.from_environment(store)).start()
        policy = LivePolicy(lambda: load_engine(store), store.serving_signal, settings.serving_poll_seconds)
        limits = Limits(
            open_buckets(settings.limits_url or settings.online_url),
            per_key=settings.limit_per_key,
            per_workspace=settings.limit_per_workspace,
        )
        return cls(
            store=store,
            online=online,
            capabilities=capabilities,
            identities=Identities(ApiKeys(store.access), _token_verifier(settings)),
            policy=policy.start(),
            limits=limits,
            decisions=decisions,
            push=push,
            watcher=watcher,
            shadows=shadows,
            canaries=canaries,
            idempotency=Idempotency.open(settings),
            metrics=PlatformCollector(
                store,
                spill_path(settings.home).parent,
                ProcessState(decisions.pending, lambda: shadows.dropped, lambda: arms_of(capabilities)),
            ),
        )

    def close(self) -> None:
        """Stop following the registry, then flush the decision log: its records must not be lost."""
        self.canaries.close()
        self.watcher.close()
        self.policy.close()
        self.decisions.close()
        self.push.close()
        self.online.close()
        self.store.close()


def _token_verifier(settings: Settings) -> JwksVerifier | None:
    """The OIDC token verifier when ZT_OIDC_JWKS_URL is set (then issuer and audience must be too)."""
    if not settings.oidc_jwks_url:
        return None
    if not settings.oidc_issuer or not settings.oidc_audience:
        raise ZhongtaiError(
            ErrorCode.INVALID_CONFIG,
            "ZT_OIDC_JWKS_URL is set but ZT_OIDC_ISSUER or ZT_OIDC_AUDIENCE is not",
            "set both: a token is accepted only from that issuer and for that audience",
        )
    return JwksVerifier(
        OidcSettings(
            jwks_url=settings.oidc_jwks_url,
            issuer=settings.oidc_issuer,
            audience=settings.oidc_audience,
            leeway_s=settings.oidc_leeway_seconds,
            roles_claim=settings.oidc_roles_claim,
            workspace_claim=settings.oidc_workspace_claim,
        )
    )


def _add_routes(app: FastAPI) -> None:
    def gateway() -> Gateway:
        return app.state.gateway

    @app.get("/healthz", tags=["operations"], responses=errors(503))
    async def healthz() -> JSONResponse:
        """200 once every capability is loaded; 503 before (a readiness probe)."""
        if getattr(app.state, "gateway", None) is None:
            return error_response(ErrorCode.UNAVAILABLE, "capabilities are loading")
        return JSONResponse({"status": "ok"})

    @app.get(
        "/v1/capabilities", tags=["capabilities"], responses=errors(401, 403, 429), openapi_extra=SECURED
    )
    async def list_capabilities(access: Annotated[Access, allow("call")]) -> JSONResponse:
        """The capabilities the caller may call, and the model version each serves right now (it follows the
        registry)."""
        gw = gateway()
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
                        "traffic": r.describe(),
                        "loaded_at": datetime.fromtimestamp(r.loaded_at, UTC).isoformat(),
                        **({"reload_error": stale[r.name]} if r.name in stale else {}),
                    }
                    for r in gw.capabilities.runtimes()
                    if access.allows(r.name)
                ],
                "not_loaded": {n: e for n, e in gw.capabilities.errors.items() if access.allows(n)},
            }
        )

    # async on purpose: the predict is a few tens of microseconds of CPU, cheaper inline than a thread hop,
    # and the online read is awaited (Redis's asyncio client; SQLite's local read runs on the loop). It is a
    # direct route (gateway/direct_routes.py): the same guard and endpoint, without FastAPI's generic layers.
    @app.post(
        DECIDE_PATH,
        tags=["capabilities"],
        responses=errors(400, 401, 403, 404, 409, 413, 422, 429),
        openapi_extra={**SECURED, "requestBody": decide_body()},
    )
    async def decide(
        name: str, request: Request, access: Annotated[Access, allow("call", "name")]
    ) -> Response:
        """Decide for one entity: the body holds the capability's input field and optional context."""
        started = time.perf_counter()
        gw = gateway()
        principal = access.principal
        runtime = gw.capabilities.get(name)
        inputs = await json_object(request)
        check_context(inputs)
        explained = access.may(EXPLAIN, name)

        async def work() -> tuple[dict[str, Any], list[DecisionRecord]]:
            decision = await runtime.decide_async(inputs, explained)
            latency_ms = (time.perf_counter() - started) * 1000
            answer = {**decision.to_dict(explained), "latency_ms": round(latency_ms, 3)}
            return answer, [decision.to_record(principal.name, inputs, latency_ms)]

        # Shadows are scored (after the answer) only for an answer that is new, not for a replayed one.
        return await answer_once(gw, request, principal, runtime, f"decide {name}", inputs, work)


def create_app(settings: Settings) -> FastAPI:
    """The gateway app; its lifespan opens the stores, loads the capabilities and starts the decision log."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        gateway = Gateway.open(settings)
        # What startup loaded (models, libraries, specs: ~600k objects) lives as long as the process; frozen,
        # the cyclic collector never walks it again. Unfrozen, each full collection walked it all, a pause of
        # seconds on a busy machine that every request in flight waited for (the p99 of a fixed-rate run).
        gc.freeze()
        app.state.gateway = gateway
        try:
            yield
        finally:
            app.state.gateway = None
            await gateway.shadows.aclose()  # before the stores they read and the log they write close
            await gateway.idempotency.aclose()
            await gateway.online.aclose()
            gateway.close()
            await gateway.limits.store.close()

    # Swagger UI (/docs) and ReDoc (/redoc) from files in the fastapi-offline package: no CDN.
    app = FastAPIOffline(
        title="Zhongtai gateway",
        summary="Governed AI capabilities as decision APIs.",
        version="1",
        lifespan=lifespan,
        static_url="/docs/static",
    )
    app.openapi = lambda: document(app)  # type: ignore[method-assign]
    app.state.gateway = None
    app.state.body_limits = BodyLimits.from_settings(settings)
    app.state.max_batch_inputs = settings.max_batch_inputs
    add_error_handlers(app)
    _add_routes(app)
    add_batch_route(app, lambda: app.state.gateway)
    add_catalog_routes(app, settings)
    add_data_routes(app, settings)
    add_feature_routes(app, json_object)
    add_push_routes(app, json_object)
    add_metrics_route(app)
    add_quality_routes(app)
    add_report_routes(app)
    add_review_routes(app)
    add_model_routes(app)
    add_run_routes(app)
    add_traffic_routes(app)
    add_integration_routes(app)
    add_governance_routes(app, head_file(settings.metadata_url, settings.home))
    add_decision_routes(app)
    add_monitoring_routes(app)
    add_oneid_routes(app, settings)
    add_person_routes(app, settings)
    add_me_route(app)
    add_spec_routes(app, settings)
    add_console(app)
    # The single decide skips the generic middleware, router and solver (gateway/direct_routes.py).
    app.add_middleware(DirectRoutes, owner=app, paths=[("POST", DECIDE_PATH)])
    return app


def app_from_environment() -> FastAPI:
    """The gateway app configured from the ZT_* environment: what each `zhongtai serve --workers N` process
    builds."""
    return create_app(Settings.from_env())
