"""Monitoring over HTTP, for the console's Overview and Monitoring pages and any other client: the overview of
a window, a capability's drift checks, the flywheel's runs and the alerts; resolving a firing alert.

Reading needs `read_models`, granted per object: the people who read model cards and live quality read how
the capabilities built on those models behave, and a department's reader sees only the capabilities and
models its grant covers (each listing filtered by the policy engine, in the database). Resolving an alert is
an operational act on its capability and needs `change_traffic` on it (on every capability for an alert about
none). Handlers are plain functions: the store blocks, so they run in the thread pool.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import FastAPI, Path, Query, Request

from zhongtai.flywheel.quality import window_start
from zhongtai.gateway.authz import Access, allow
from zhongtai.gateway.openapi import SECURED, errors
from zhongtai.meta.store import MetadataStore
from zhongtai.monitor.history import alerts_page, drift_history, flywheel_runs, missing_alert, resolve_alert
from zhongtai.monitor.overview import Can, overview

READ_ERRORS = errors(401, 403, 404, 422, 429)
ACT_ERRORS = errors(401, 403, 404, 409, 422, 429)
OFFSET = Query(ge=0, le=1_000_000, description="Rows skipped, for paging.")
LIMIT = Query(ge=1, le=200, description="Rows in the page.")
NAME = r"^[A-Za-z][A-Za-z0-9_-]{0,127}$"


def _store(request: Request) -> MetadataStore:
    return request.app.state.gateway.store


def _can(access: Access) -> Can:
    """Per-object checks of any action, by the engine that judged the request."""
    return lambda action, obj, kind: access.engine.check(access.principal, action, obj, kind).allowed


def add_monitoring_routes(app: FastAPI) -> None:
    """Mount /v1/overview, /v1/capabilities/{name}/drift, /v1/flywheel/runs and /v1/alerts."""

    @app.get("/v1/overview", tags=["monitoring"], responses=READ_ERRORS, openapi_extra=SECURED)
    def get_overview(
        request: Request,
        access: Annotated[Access, allow("read_models")],
        window: Annotated[
            str,
            Query(
                description="Decisions made this far back, like 1h, 24h or 7d.", pattern=r"^[0-9]{1,6}[mhdw]$"
            ),
        ] = "24h",
    ) -> dict[str, Any]:
        """Per capability the reader may see: calls, p50/p99 latency, fallbacks, the latest drift verdict,
        live quality (with the retrain policy's floor) and the outcomes attributed to its decisions; and what
        needs attention: versions awaiting approval, overdue review items, rolled-back canaries, firing
        alerts and datasets older than their promised refresh."""
        found = overview(_store(request), window_start(window, "window"), _can(access))
        return {"window": window, **found.to_dict()}

    @app.get(
        "/v1/capabilities/{name}/drift", tags=["monitoring"], responses=READ_ERRORS, openapi_extra=SECURED
    )
    def get_drift(
        name: str,
        request: Request,
        access: Annotated[Access, allow("read_models", "name", "capabilities")],
        offset: Annotated[int, OFFSET] = 0,
        limit: Annotated[int, LIMIT] = 50,
    ) -> dict[str, Any]:
        """The capability's stored drift checks, newest first: per check the model version, the window, the
        verdict and, per feature and for the score, PSI, Jensen-Shannon distance, KS, effect and verdict."""
        return drift_history(_store(request), name, offset, limit)

    @app.get("/v1/flywheel/runs", tags=["monitoring"], responses=READ_ERRORS, openapi_extra=SECURED)
    def get_runs(
        request: Request,
        access: Annotated[Access, allow("read_models")],
        capability: Annotated[
            str | None, Query(pattern=NAME, description="Only this capability's runs.")
        ] = None,
        offset: Annotated[int, OFFSET] = 0,
        limit: Annotated[int, LIMIT] = 20,
    ) -> dict[str, Any]:
        """Retrain runs of the models the reader may read, newest first, each with its steps: drift or
        quality trigger, training, comparison, replay, approval, shadow, canary, promotion or rollback, with
        who, when, why and the evidence."""
        return flywheel_runs(_store(request), _can(access), capability, offset, limit)

    @app.get("/v1/alerts", tags=["monitoring"], responses=READ_ERRORS, openapi_extra=SECURED)
    def get_alerts(
        request: Request,
        access: Annotated[Access, allow("read_models")],
        status: Annotated[
            str | None,
            Query(pattern=r"^(firing|resolved)$", description="firing or resolved; both if absent."),
        ] = None,
        capability: Annotated[
            str | None, Query(pattern=NAME, description="Only this capability's alerts.")
        ] = None,
        offset: Annotated[int, OFFSET] = 0,
        limit: Annotated[int, LIMIT] = 50,
    ) -> dict[str, Any]:
        """Alerts (drifted features, rolled-back canaries...), the latest raised first, about the
        capabilities the reader may see; a reader of every capability also sees alerts about none."""
        return alerts_page(_store(request), _can(access), status, capability, offset, limit)

    @app.post(
        "/v1/alerts/{fingerprint}/resolve", tags=["monitoring"], responses=ACT_ERRORS, openapi_extra=SECURED
    )
    def post_resolve(
        request: Request,
        access: Annotated[Access, allow("change_traffic")],
        fingerprint: Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")],
    ) -> dict[str, Any]:
        """Mark a firing alert resolved by hand (its condition was dealt with), recorded in the audit log
        (`alert_resolve`); the receivers are told, as with `zhongtai alerts resolve`. 409 when it is not
        firing."""
        store = _store(request)
        row = store.alerts.get(fingerprint)
        if row is None:
            raise missing_alert(fingerprint)
        target = row.labels.get("capability", "*")
        access.require(target, "capabilities")
        return resolve_alert(store, row, access.principal.name, access.rule(target, "capabilities"))
