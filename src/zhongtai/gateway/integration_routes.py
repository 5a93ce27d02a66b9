"""Routes for business processes: the process-engine decision node and feedback on decisions.

Both read and write the metadata store, so their work runs in the thread pool, off the event loop; the decide
route's hot path is not involved. The decision node needs `call` on the capability; feedback needs `call` on some capability (the caller's
name is the principal recorded).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import FastAPI, Path, Request
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt
from starlette.concurrency import run_in_threadpool

from zhongtai.flywheel.feedback import MAX_TEXT, FeedbackKind, record_feedback
from zhongtai.gateway.authz import EXPLAIN, Access, allow
from zhongtai.gateway.decide_routes import check_context
from zhongtai.gateway.models_routes import documented_body, required_body
from zhongtai.gateway.openapi import errors
from zhongtai.integrate.process_node import answer_job

KEY = Field(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f]+$")
DECISION_ID = Path(min_length=1, max_length=36)


class JobBody(BaseModel):
    """A process engine's job: its key (idempotency), the business key, and the capability's inputs."""

    model_config = ConfigDict(extra="forbid")
    job_key: str = KEY
    business_key: str = KEY
    inputs: dict[str, Any]


class FeedbackBody(BaseModel):
    """An outcome of the decision: its kind and value, and an optional comment."""

    model_config = ConfigDict(extra="forbid")
    kind: FeedbackKind = Field(description="What happened")
    value: StrictBool | StrictInt | StrictFloat | Annotated[str, Field(min_length=1, max_length=MAX_TEXT)] = (
        Field(description=f"A boolean, number or text of 1 to {MAX_TEXT} characters")
    )
    comment: str = Field(default="", max_length=2000)


def add_integration_routes(app: FastAPI) -> None:
    """Mount the decision node and the feedback route on the gateway."""

    @app.post(
        "/v1/capabilities/{name}/node",
        tags=["integration"],
        responses=errors(400, 401, 403, 404, 413, 422, 429),
        openapi_extra=documented_body(JobBody, required=True),
    )
    async def decision_node(
        request: Request, access: Annotated[Access, allow("call", "name")], name: str
    ) -> dict[str, Any]:
        """Answer a process engine's job: outcome, confidence, reasons, model version, deadline, fallback.
        The same job key always gets the same answer and one decision record."""
        gateway = request.app.state.gateway
        principal = access.principal
        runtime = gateway.capabilities.get(name)
        body = await required_body(request, JobBody)
        check_context(body.inputs)  # as the decide route checks it: the job's inputs are a decide body
        answer = await run_in_threadpool(
            answer_job, gateway.store, runtime, body.job_key, body.business_key, body.inputs, principal.name
        )
        # The reasons are the top factors in words: kept with the job, shown only to who may see them.
        return answer if access.may(EXPLAIN, name) else {**answer, "reasons": []}

    @app.post(
        "/v1/decisions/{decision_id}/feedback",
        tags=["integration"],
        responses=errors(400, 401, 403, 404, 409, 413, 422, 429),
        openapi_extra=documented_body(FeedbackBody, required=True),
    )
    async def feedback(
        request: Request, access: Annotated[Access, allow("call")], decision_id: str = DECISION_ID
    ) -> dict[str, Any]:
        """Report what happened after a decision (clicked, bought, churned, resolved, a reviewer's verdict).
        The same outcome twice is acknowledged once (`duplicate: true`); another value for the same kind is
        a 409."""
        gateway = request.app.state.gateway
        principal = access.principal
        body = await required_body(request, FeedbackBody)
        found, new = await run_in_threadpool(
            record_feedback, gateway.store, decision_id, body.kind, body.value, principal.name, body.comment
        )
        return {**found.to_dict(), "duplicate": not new}
