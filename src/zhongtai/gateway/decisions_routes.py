"""The decision log, read back: `GET /v1/decisions` (newest first, a page at a time), `GET
/v1/decisions/{id}` and its full trace, `GET /v1/decisions/{id}/trace`.

Reading the log is `read_audit` on the decision's capability; each decision is rendered for the reader by
`capabilities/decision_view.py`: masked by the reader's `see_pii`, its explanation only with
`see_explanation`. A listing keeps only the capabilities the reader may read, in the query itself, so a page
is a full page of what they may see. Pages follow a keyset cursor (`before`, the `next` of the page before):
each is one index range scan however deep into a log of millions it goes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import FastAPI, Query, Request

from zhongtai.capabilities.decision_trace import decision_trace
from zhongtai.capabilities.decision_view import KIND, decision_view
from zhongtai.errors import ZhongtaiError
from zhongtai.gateway.authz import Access, allow
from zhongtai.gateway.models_routes import MOMENT, MOMENT_TEXT
from zhongtai.gateway.openapi import SECURED, errors
from zhongtai.meta.access import DecisionFilter
from zhongtai.meta.records import DecisionRecord

_ERRORS = errors(401, 403, 404, 422, 429)
MAX_LISTED = 200
NAME = r"^[A-Za-z0-9_.:-]{1,128}$"
# The `next` of a page: the time of its last decision (a moment as MOMENT admits, so it parses), a comma,
# and its id.
CURSOR = f"^{MOMENT_TEXT},[A-Za-z0-9_-]{{1,36}}$"


def cursor_of(record: DecisionRecord) -> str:
    """The cursor that starts the page after `record`."""
    return f"{record.at.isoformat(timespec='microseconds')},{record.id}"


def parse_cursor(cursor: str) -> tuple[datetime, str]:
    """(time, id) of a cursor CURSOR admitted (its time parses: the pattern holds only real moments)."""
    moment, _, last_id = cursor.partition(",")
    return datetime.fromisoformat(moment), last_id


def _one(request: Request, access: Access, decision_id: str) -> DecisionRecord:
    found = request.app.state.gateway.store.decisions.by_ids([decision_id])
    if not found:
        raise ZhongtaiError("not_found", f"no decision '{decision_id}' is in the log", None)
    access.require(found[0].capability, KIND)
    return found[0]


def add_decision_routes(app: FastAPI) -> None:
    """Mount the decision log's read endpoints (plain `def`: the metadata store blocks, so they run in the
    thread pool, off the decide path's event loop)."""

    @app.get("/v1/decisions/{decision_id}", tags=["decisions"], responses=_ERRORS, openapi_extra=SECURED)
    def decision_show(
        request: Request, decision_id: str, access: Annotated[Access, allow("read_audit")]
    ) -> dict[str, Any]:
        """One logged decision as the caller may see it."""
        return decision_view(_one(request, access, decision_id), access.engine, access.principal)

    @app.get(
        "/v1/decisions/{decision_id}/trace", tags=["decisions"], responses=_ERRORS, openapi_extra=SECURED
    )
    def decision_trace_show(
        request: Request, decision_id: str, access: Annotated[Access, allow("read_audit")]
    ) -> dict[str, Any]:
        """A decision's full trace: the decision as the caller may see it, its feedback, its review item and
        the audit record that logged it (with whether the row still matches its recorded digest)."""
        record = _one(request, access, decision_id)
        return decision_trace(request.app.state.gateway.store, record, access.engine, access.principal)

    @app.get("/v1/decisions", tags=["decisions"], responses=_ERRORS, openapi_extra=SECURED)
    def decision_list(
        request: Request,
        access: Annotated[Access, allow("read_audit")],
        capability: Annotated[str | None, Query(pattern=NAME)] = None,
        arm: Annotated[str | None, Query(pattern=NAME)] = None,
        model: Annotated[str | None, Query(pattern=NAME, description="The model's name")] = None,
        model_version: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
        decision: Annotated[str | None, Query(min_length=1, max_length=64, description="The outcome")] = None,
        fallback: Annotated[bool | None, Query(description="Only fallbacks (true) or model answers")] = None,
        routed: Annotated[bool | None, Query(description="Only those routed to review (true) or not")] = None,
        since: Annotated[str | None, Query(pattern=MOMENT, description="From this moment on")] = None,
        until: Annotated[str | None, Query(pattern=MOMENT, description="Before this moment")] = None,
        before: Annotated[
            str | None, Query(pattern=CURSOR, description="The `next` of the page before")
        ] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_LISTED)] = 20,
    ) -> dict[str, Any]:
        """A page of the log, newest first, among the capabilities the caller may read; `next` is the cursor
        of the page after (null on the last page)."""
        store = request.app.state.gateway.store
        if capability is not None:
            access.require(capability, KIND)
        names = tuple(store.registered("capabilities"))
        readable: tuple[str, ...] | None = tuple(n for n in names if access.allows(n, KIND))
        if access.allows("*", KIND) and readable == names:
            readable = None  # everything, capabilities removed since included
        where = DecisionFilter(
            capabilities=readable, capability=capability, arm=arm, model_name=model,
            model_version=model_version, decision=decision, fallback=fallback, routed=routed,
            since=datetime.fromisoformat(since) if since else None,
            until=datetime.fromisoformat(until) if until else None,
            before=parse_cursor(before) if before else None,
        )  # fmt: skip
        found = store.decisions.page(where, limit)
        # The query kept to what the reader may read; the check per row also covers a rule that denies a
        # capability removed from the specs since (not among the names above).
        shown = [
            decision_view(r, access.engine, access.principal)
            for r in found
            if access.allows(r.capability, KIND)
        ]
        return {"decisions": shown, "next": cursor_of(found[-1]) if len(found) == limit else None}
