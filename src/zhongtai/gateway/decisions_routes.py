"""The decision log, read back: `GET /v1/decisions/{id}` and `GET /v1/decisions` (newest first).

Reading the log is `read_audit` on the decision's capability; each decision is rendered for the reader by
`capabilities/decision_view.py`: masked by the reader's `see_pii`, its explanation only with
`see_explanation`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import FastAPI, Query, Request

from zhongtai.capabilities.decision_view import KIND, decision_view
from zhongtai.errors import ZhongtaiError
from zhongtai.gateway.authz import Access, allow
from zhongtai.gateway.openapi import SECURED, errors

_ERRORS = errors(401, 403, 404, 422, 429)
MAX_LISTED = 200


def add_decision_routes(app: FastAPI) -> None:
    """Mount the decision log's read endpoints (plain `def`: the metadata store blocks, so they run in the
    thread pool, off the decide path's event loop)."""

    @app.get("/v1/decisions/{decision_id}", tags=["decisions"], responses=_ERRORS, openapi_extra=SECURED)
    def decision_show(
        request: Request, decision_id: str, access: Annotated[Access, allow("read_audit")]
    ) -> dict[str, Any]:
        """One logged decision as the caller may see it."""
        found = request.app.state.gateway.store.decisions.by_ids([decision_id])
        if not found:
            raise ZhongtaiError("not_found", f"no decision '{decision_id}' is in the log", None)
        access.require(found[0].capability, KIND)
        return decision_view(found[0], access.engine, access.principal)

    @app.get("/v1/decisions", tags=["decisions"], responses=_ERRORS, openapi_extra=SECURED)
    def decision_list(
        request: Request,
        access: Annotated[Access, allow("read_audit")],
        capability: str | None = None,
        limit: Annotated[int, Query(ge=1, le=MAX_LISTED)] = 20,
    ) -> dict[str, Any]:
        """The newest decisions (of one capability), among those whose capability the caller may read."""
        if capability is not None:
            access.require(capability, KIND)
        recent = request.app.state.gateway.store.decisions.recent(capability, limit)
        shown = [
            decision_view(r, access.engine, access.principal)
            for r in recent
            if access.allows(r.capability, KIND)
        ]
        return {"decisions": shown}
