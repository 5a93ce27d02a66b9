"""The decision log, read back: `GET /v1/decisions/{id}` and `GET /v1/decisions` (newest first).

Reading the log is `read_audit` on the decision's capability. What a decision shows is masked for the
reader, not for the caller who made it: text in its inputs and output (already scrubbed of recognized PII
when written, docs/pii.md) and its feature values are masked span by span for every PII class the reader
may not `see_pii` on the capability (govern/masking.py). Its explanation — the feature values the model
was given — is rendered only for a reader the policy lets `see_explanation` on the capability; for anyone
else the key is absent, not emptied.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from fastapi import FastAPI, Query, Request

from zhongtai.errors import ZhongtaiError
from zhongtai.gateway.authz import Access, allow
from zhongtai.gateway.openapi import SECURED, errors
from zhongtai.govern.masking import disclosure, mask_json

if TYPE_CHECKING:
    from zhongtai.meta.records import DecisionRecord

_ERRORS = errors(401, 403, 404, 422, 429)
MAX_LISTED = 200
_KIND = "capabilities"


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
        access.require(found[0].capability, _KIND)
        return rendered(found[0], access)

    @app.get("/v1/decisions", tags=["decisions"], responses=_ERRORS, openapi_extra=SECURED)
    def decision_list(
        request: Request,
        access: Annotated[Access, allow("read_audit")],
        capability: str | None = None,
        limit: Annotated[int, Query(ge=1, le=MAX_LISTED)] = 20,
    ) -> dict[str, Any]:
        """The newest decisions (of one capability), among those whose capability the caller may read."""
        if capability is not None:
            access.require(capability, _KIND)
        recent = request.app.state.gateway.store.decisions.recent(capability, limit)
        shown = [rendered(r, access) for r in recent if access.allows(r.capability, _KIND)]
        return {"decisions": shown}


def rendered(record: DecisionRecord, access: Access) -> dict[str, Any]:
    """A decision record as `access.principal` may see it: masked, with its explanation only when allowed."""
    seen = disclosure(access.engine, access.principal, record.capability, _KIND)
    body: dict[str, Any] = {
        "id": record.id,
        "at": record.at.isoformat(),
        "capability": record.capability,
        "principal": record.principal,
        "model": {"name": record.model_name, "version": record.model_version},
        "decision": record.decision,
        "score": record.score,
        "fallback": record.fallback,
        "arm": record.arm,
        "shadow_of": record.shadow_of,
        "latency_ms": record.latency_ms,
        "inputs": mask_json(record.inputs, seen),
        "output": mask_json(record.output, seen),
    }
    if access.engine.check(access.principal, "see_explanation", record.capability, _KIND).allowed:
        body["explanation"] = {"features": mask_json(record.features, seen)}
    return body
