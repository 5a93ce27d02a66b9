"""The model registry over HTTP, for the console and other systems: versions, review steps, alias moves.

Reading needs `read_models` on the model; submitting `submit`, approving or rejecting `approve`, archiving,
alias moves and rollback `promote` (the policy engine decides, through the routes' one dependency). The
principal of every step is the caller's name, so four eyes holds across keys as it does across
`ZT_PRINCIPAL` on the CLI. Every refusal is a 4xx
{code, message, hint} from the same functions the CLI calls. Bodies are read by the gateway's one body reader
(size, depth and strict JSON limits) and then validated; the metadata store blocks, so every store call runs
in the thread pool, away from the decide path's event loop.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

from fastapi import FastAPI, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from zhongtai.errors import ErrorCode, ZhongtaiError
from zhongtai.gateway.authz import Access, allow
from zhongtai.gateway.openapi import SECURED, errors
from zhongtai.gateway.request_body import json_object
from zhongtai.models import aliases, registry
from zhongtai.models.policy import ModelAction
from zhongtai.models.review import REVIEW_ACTIONS, review

if TYPE_CHECKING:
    from zhongtai.meta.store import MetadataStore

# The policy action each review step needs.
STEP_ACTION = {
    ModelAction.SUBMIT: "submit",
    ModelAction.APPROVE: "approve",
    ModelAction.REJECT: "approve",
    ModelAction.ARCHIVE: "promote",
}
# A comment or reason is a sentence or two for the record, not a document.
NOTE = Field(default="", max_length=2000)
# Versions are numbered from 1; the bound keeps a path the document calls valid within the store's integers.
VERSION = Path(ge=1, le=2**31 - 1)
# The alias as `check_alias` takes it, so the document calls valid only what a move can accept.
ALIAS = Path(pattern=registry.ALIAS_PATTERN.pattern)
# A moment as ISO 8601 writes it, seconds and offset optional (no offset means UTC): read as a string with
# its pattern, since the parser a datetime parameter gets would also take a bare number of seconds. The
# pattern holds exactly the real dates (month lengths, leap days) of years 1000 to 9998, so whatever it
# calls valid parses, and no offset can carry a moment out of the years Python counts.
_YEAR = r"([1-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]|999[0-8])"
_LEAP_YEAR = r"([1-9][0-9](0[48]|[2468][048]|[13579][26])|([2468][048]|[13579][26])00)"
_MONTH_DAY = (
    r"((0[13578]|1[02])-(0[1-9]|[12][0-9]|3[01])|(0[469]|11)-(0[1-9]|[12][0-9]|30)|02-(0[1-9]|1[0-9]|2[0-8]))"
)
_TIME = r"T([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])?"
MOMENT_TEXT = f"({_YEAR}-{_MONTH_DAY}|{_LEAP_YEAR}-02-29){_TIME}"
MOMENT = f"^{MOMENT_TEXT}$"
AT = Query(
    default=None,
    pattern=MOMENT,
    description="A moment such as 2026-12-01T10:00 or 2026-12-01T10:00:00+08:00 (no offset means UTC)",
)
READ_ERRORS = errors(401, 403, 404, 422, 429)
ACT_ERRORS = errors(400, 401, 403, 404, 409, 413, 422, 429)
Body = TypeVar("Body", bound=BaseModel)


class ReviewBody(BaseModel):
    """Why this step: kept with the review record."""

    model_config = ConfigDict(extra="forbid")
    comment: str = NOTE


class AliasBody(BaseModel):
    """The version the alias should point at, and why (kept in the alias history)."""

    model_config = ConfigDict(extra="forbid")
    version: int = Field(ge=1, le=2**31 - 1)
    reason: str = NOTE


class RollbackBody(BaseModel):
    """Why the alias goes back (kept in the alias history)."""

    model_config = ConfigDict(extra="forbid")
    reason: str = NOTE


def documented_body(model: type[BaseModel], required: bool) -> dict[str, Any]:
    """The route's OpenAPI extras: the key it needs and the JSON body it reads (validated by `model`)."""
    schema = {"application/json": {"schema": model.model_json_schema()}}
    return {**SECURED, "requestBody": {"required": required, "content": schema}}


async def validated_body(request: Request, model: type[Body], required: bool) -> Body | None:
    """The body through the gateway's body reader, validated; None when an optional body is absent."""
    if (
        not required
        and request.headers.get("content-length", "0") == "0"
        and "transfer-encoding" not in request.headers
    ):
        return None
    payload = await json_object(request)
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        # Locations and what is expected; never the value sent (a reason may name a person).
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors()
        )
        raise ZhongtaiError(
            ErrorCode.INVALID_ARGUMENT, problems, "GET /docs shows the body this route takes"
        ) from None


async def required_body(request: Request, model: type[Body]) -> Body:
    """A body the route cannot do without, validated (an absent one is a 4xx from the body reader)."""
    body = await validated_body(request, model, required=True)
    if body is None:  # validated_body only answers None for an optional body
        raise ZhongtaiError(ErrorCode.INVALID_ARGUMENT, "the body is required")
    return body


T = TypeVar("T")


async def _off_loop(call: Callable[[], T]) -> T:
    return await run_in_threadpool(call)


def _store(request: Request) -> MetadataStore:
    return request.app.state.gateway.store


def add_model_routes(app: FastAPI) -> None:
    """Mount /v1/models/... on the gateway."""

    @app.get("/v1/models", tags=["models"], responses=READ_ERRORS, openapi_extra=SECURED)
    async def list_models(
        request: Request, access: Annotated[Access, allow("read_models")], model: str | None = None
    ) -> dict[str, Any]:
        """Every model version (or one model's) the caller may read, oldest first, with status and aliases."""
        store = _store(request)
        found = await _off_loop(lambda: registry.list_versions(store, model))
        return {"versions": [v.to_dict() for v in found if access.allows(v.model)]}

    @app.get(
        "/v1/models/{name}/versions/{version}", tags=["models"], responses=READ_ERRORS, openapi_extra=SECURED
    )
    async def show_version(
        request: Request,
        access: Annotated[Access, allow("read_models", "name")],
        name: str,
        version: int = VERSION,
    ) -> dict[str, Any]:
        """One version with its metrics, aliases and review steps, and where every alias of the model points."""
        store = _store(request)
        return await _off_loop(lambda: registry.show(store, name, version))

    for action in REVIEW_ACTIONS:
        _add_review_route(app, action)

    @app.put(
        "/v1/models/{name}/aliases/{alias}",
        tags=["models"],
        responses=ACT_ERRORS,
        openapi_extra=documented_body(AliasBody, required=True),
    )
    async def set_alias(
        request: Request, access: Annotated[Access, allow("promote", "name")], name: str, alias: str = ALIAS
    ) -> dict[str, Any]:
        """Point the alias at a version; a serving alias takes only an approved one (unless the spec says
        `require_approval: false`)."""
        store, principal = _store(request), access.principal
        body = await required_body(request, AliasBody)
        move = await _off_loop(
            lambda: aliases.move(
                store, name, body.version, alias, principal.name, body.reason, access.rule(name)
            )
        )
        return move.to_dict()

    @app.delete(
        "/v1/models/{name}/aliases/{alias}", tags=["models"], responses=ACT_ERRORS, openapi_extra=SECURED
    )
    async def remove_alias(
        request: Request,
        access: Annotated[Access, allow("promote", "name")],
        name: str,
        alias: str = ALIAS,
        reason: str = Query(default="", max_length=2000),
    ) -> dict[str, Any]:
        """Unset the alias; recorded like any move."""
        store, principal = _store(request), access.principal
        move = await _off_loop(
            lambda: aliases.remove(store, name, alias, principal.name, reason, access.rule(name))
        )
        return move.to_dict()

    @app.post(
        "/v1/models/{name}/aliases/{alias}/rollback",
        tags=["models"],
        responses=ACT_ERRORS,
        openapi_extra=documented_body(RollbackBody, required=False),
    )
    async def rollback(
        request: Request, access: Annotated[Access, allow("promote", "name")], name: str, alias: str = ALIAS
    ) -> dict[str, Any]:
        """Move the alias back to the version its last move took it from, in one step."""
        store, principal = _store(request), access.principal
        body = await validated_body(request, RollbackBody, required=False)
        reason = body.reason if body else ""
        move = await _off_loop(
            lambda: aliases.rollback(store, name, alias, principal.name, reason, access.rule(name))
        )
        return move.to_dict()

    @app.get("/v1/models/{name}/history", tags=["models"], responses=READ_ERRORS, openapi_extra=SECURED)
    async def history(
        request: Request,
        access: Annotated[Access, allow("read_models", "name")],
        name: str,
        alias: str | None = Query(default=None, pattern=registry.ALIAS_PATTERN.pattern),
        at: str | None = AT,
    ) -> dict[str, Any]:
        """Every alias move (from, to, who, when, why), oldest first; with `at`, where each alias pointed
        at that moment (no offset means UTC)."""
        store = _store(request)
        if at is not None:
            when = datetime.fromisoformat(at)  # the pattern admits only what parses
            found = await _off_loop(lambda: aliases.aliases_at(store, name, when))
            if alias is not None:
                found = {a: v for a, v in found.items() if a == alias}
            return {"model": name, "at": when.isoformat(), "aliases": found}
        moves = await _off_loop(lambda: aliases.history(store, name, alias))
        return {"model": name, "moves": [m.to_dict() for m in moves]}


def _add_review_route(app: FastAPI, action: ModelAction) -> None:
    """POST /v1/models/{name}/versions/{version}/{action}, for one review step."""
    # A default, not an annotation: annotations are strings here, resolved in the module's namespace,
    # which does not hold this function's `action`.
    guard = allow(STEP_ACTION[action], "name")

    async def step(
        request: Request, name: str, version: int = VERSION, access: Access = guard
    ) -> dict[str, Any]:
        store, principal = _store(request), access.principal
        body = await validated_body(request, ReviewBody, required=False)
        comment = body.comment if body else ""
        done = await _off_loop(
            lambda: review(store, name, version, action, principal.name, comment, access.rule(name))
        )
        return done.to_dict()

    step.__doc__ = {
        ModelAction.SUBMIT: "Submit a registered version for review, as the key's name.",
        ModelAction.APPROVE: "Approve a version pending review; the key must not be the submitter's (four eyes).",
        ModelAction.REJECT: "Reject a version pending review; a rejected version never serves.",
        ModelAction.ARCHIVE: "Retire a version; refused while an alias points at it.",
    }[action]
    app.post(
        f"/v1/models/{{name}}/versions/{{version}}/{action.value}",
        tags=["models"],
        name=f"{action.value}_version",
        responses=ACT_ERRORS,
        openapi_extra=documented_body(ReviewBody, required=False),
    )(step)
