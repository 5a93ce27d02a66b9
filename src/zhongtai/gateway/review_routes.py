"""The review queue over HTTP: list, read, claim, assign and resolve review items; escalate overdue ones.

Every route needs `review`; the capability of an item is checked per item (a listing keeps only the
capabilities the caller may review), through the policy engine as everywhere else. An item's explanation
shows feature values only to a caller allowed `see_explanation` on its capability (flywheel/review.py).
A resolve writes the verdict as feedback in the item's own transaction; the same verdict again answers
200 with `new: false`, another verdict on a resolved item 409. The store blocks, so it runs off the loop.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from fastapi import FastAPI, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from zhongtai.errors import ZhongtaiError
from zhongtai.flywheel.review import Verdict, escalate_overdue, item_detail, resolve
from zhongtai.gateway.authz import Access, allow
from zhongtai.gateway.models_routes import documented_body, validated_body
from zhongtai.gateway.openapi import SECURED, errors
from zhongtai.meta.review import ReviewFilter, ReviewItem, ReviewStatus, missing_item
from zhongtai.meta.time import now

READ_ERRORS = errors(401, 403, 404, 422, 429)
ACT_ERRORS = errors(400, 401, 403, 404, 409, 413, 422, 429)
ITEM = "/v1/review/items/{decision_id}"
Body = TypeVar("Body", bound=BaseModel)


class ReviewItemBody(BaseModel):
    """A review item: the decision it is about, its queue, status, assignee and deadline, and its verdict."""

    decision_id: str
    capability: str
    queue: str
    status: ReviewStatus
    assignee: str | None
    created_at: str
    deadline: str
    resolved_at: str | None
    resolved_by: str | None
    verdict: str | None = Field(description="accept or correct, once resolved")
    value: Any = Field(description="The class a correction names")


class ReviewItemDetail(ReviewItemBody):
    """An item with its decision as the caller may see it: masked by see_pii, its `explanation` (feature
    values) only with see_explanation."""

    overdue: bool
    decision: dict[str, Any] | None


class ReviewPage(BaseModel):
    """One page of a queue, soonest deadline first, and how many items the filters select in all."""

    items: list[ReviewItemBody]
    total: int
    offset: int
    limit: int


class Resolved(BaseModel):
    """The resolved item, and whether this call resolved it (false: the same verdict was given before)."""

    item: ReviewItemBody
    new: bool


class Escalated(BaseModel):
    """The items this call escalated."""

    items: list[ReviewItemBody]


class VerdictBody(BaseModel):
    """`accept` the answer, or `correct` it with the right class; the comment stays with the feedback."""

    model_config = ConfigDict(extra="forbid")
    verdict: str = Field(pattern=r"^(accept|correct)$")
    value: str | None = Field(default=None, min_length=1, max_length=200)
    comment: str = Field(default="", max_length=1000)


class AssignBody(BaseModel):
    """Who takes the item over."""

    model_config = ConfigDict(extra="forbid")
    assignee: str = Field(min_length=1, max_length=128)


class EscalateBody(BaseModel):
    """Who takes each queue's overdue items (queue → assignee); queues not named keep their assignee."""

    model_config = ConfigDict(extra="forbid")
    targets: dict[str, str] = Field(default={})


async def _required(request: Request, model: type[Body]) -> Body:
    body = await validated_body(request, model, True)
    if body is None:  # validated_body answers None only for an optional body; kept for the type
        raise ZhongtaiError("invalid_argument", "the route needs a JSON body", "GET /docs shows it")
    return body


def _body(item: ReviewItem) -> ReviewItemBody:
    return ReviewItemBody.model_validate(item.to_dict())


async def _item(request: Request, access: Access, decision_id: str) -> ReviewItem:
    """The item, once the caller may review its capability (404 before 403 would not hide more: ids are
    random)."""
    item = await run_in_threadpool(request.app.state.gateway.store.review.get, decision_id)
    if item is None:
        raise missing_item(decision_id)
    access.require(item.capability)
    return item


def add_review_routes(app: FastAPI) -> None:
    """Mount /v1/review/... on the gateway."""

    @app.get(
        "/v1/review/items",
        tags=["review"],
        responses=READ_ERRORS,
        openapi_extra=SECURED,
        response_model=ReviewPage,
    )
    async def list_items(
        request: Request,
        access: Annotated[Access, allow("review")],
        capability: str | None = None,
        queue: str | None = None,
        status: ReviewStatus | None = None,
        assignee: str | None = None,
        mine: Annotated[bool, Query(description="Only the caller's items.")] = False,
        overdue: Annotated[bool, Query(description="Only pending items past their deadline.")] = False,
        pending: Annotated[bool, Query(description="Only items not resolved yet.")] = False,
        offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
    ) -> ReviewPage:
        """A page of review items the caller may review, filtered by capability, queue, status, assignee."""
        store = request.app.state.gateway.store
        if capability is not None:
            access.require(capability)
            allowed = None
        else:
            names = await run_in_threadpool(store.review.capabilities)
            allowed = tuple(n for n in names if access.allows(n))
        where = ReviewFilter(
            capability=capability, queue=queue, status=status,
            assignee=access.principal.name if mine else assignee,
            overdue_at=now() if overdue else None, capabilities=allowed, pending=pending,
        )  # fmt: skip
        items, total = await run_in_threadpool(store.review.page, where, offset, limit)
        return ReviewPage(items=[_body(i) for i in items], total=total, offset=offset, limit=limit)

    @app.get(
        ITEM, tags=["review"], responses=READ_ERRORS, openapi_extra=SECURED, response_model=ReviewItemDetail
    )
    async def show_item(
        request: Request, access: Annotated[Access, allow("review")], decision_id: str
    ) -> ReviewItemDetail:
        """One item with its decision, masked by what the caller may see."""
        await _item(request, access, decision_id)
        store = request.app.state.gateway.store
        detail = await run_in_threadpool(item_detail, store, decision_id, access.engine, access.principal)
        return ReviewItemDetail.model_validate(detail)

    @app.post(
        ITEM + "/claim",
        tags=["review"],
        responses=ACT_ERRORS,
        openapi_extra=SECURED,
        response_model=ReviewItemBody,
    )
    async def claim_item(
        request: Request, access: Annotated[Access, allow("review")], decision_id: str
    ) -> ReviewItemBody:
        """Take an item: it is the caller's until resolved (409 when someone else holds it)."""
        item = await _item(request, access, decision_id)
        who, rule = access.principal.name, access.rule(item.capability)
        review = request.app.state.gateway.store.review
        return _body(await run_in_threadpool(review.assign, decision_id, who, who, rule))

    @app.post(
        ITEM + "/assign",
        tags=["review"],
        responses=ACT_ERRORS,
        openapi_extra=documented_body(AssignBody, True),
        response_model=ReviewItemBody,
    )
    async def assign_item(
        request: Request, access: Annotated[Access, allow("review")], decision_id: str
    ) -> ReviewItemBody:
        """Give a pending item to a reviewer, taking it from whoever held it."""
        body = await _required(request, AssignBody)
        item = await _item(request, access, decision_id)
        who, rule = access.principal.name, access.rule(item.capability)
        review = request.app.state.gateway.store.review
        return _body(await run_in_threadpool(review.assign, decision_id, body.assignee, who, rule, True))

    @app.post(
        ITEM + "/resolve",
        tags=["review"],
        responses=ACT_ERRORS,
        openapi_extra=documented_body(VerdictBody, True),
        response_model=Resolved,
    )
    async def resolve_item(
        request: Request, access: Annotated[Access, allow("review")], decision_id: str
    ) -> Resolved:
        """Accept or correct the decision: the verdict becomes `verdict` and `label` feedback."""
        body = await _required(request, VerdictBody)
        item = await _item(request, access, decision_id)
        verdict = Verdict(body.verdict, body.value, body.comment)
        store, rule = request.app.state.gateway.store, access.rule(item.capability)
        done, new = await run_in_threadpool(resolve, store, decision_id, verdict, access.principal.name, rule)
        return Resolved(item=_body(done), new=new)

    @app.post(
        "/v1/review/escalate",
        tags=["review"],
        responses=ACT_ERRORS,
        openapi_extra=documented_body(EscalateBody, False),
        response_model=Escalated,
    )
    async def escalate(request: Request, access: Annotated[Access, allow("review")]) -> Escalated:
        """Escalate the overdue items of the capabilities the caller may review."""
        body = await validated_body(request, EscalateBody, False) or EscalateBody()
        store = request.app.state.gateway.store
        names = await run_in_threadpool(store.review.capabilities)
        allowed = tuple(n for n in names if access.allows(n))
        rule = access.engine.may_ever(access.principal, "review").rule
        found = await run_in_threadpool(
            lambda: escalate_overdue(store, access.principal.name, rule, body.targets, None, allowed)
        )
        return Escalated(items=[_body(i) for i in found])
