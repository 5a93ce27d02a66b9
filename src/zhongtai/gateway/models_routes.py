"""The model registry over HTTP, for the console and other systems: versions, review steps, alias moves.

Reading needs a key with the `models`, `catalog` or `admin` role; acting (submit, approve, reject, archive,
alias moves, rollback) needs `models` or `admin`. The principal of every step is the key's name, so four
eyes holds across keys as it does across `ZT_PRINCIPAL` on the CLI. Every refusal is a 4xx
{code, message, hint} from the same functions the CLI calls. Bodies are read by the gateway's one body reader
(size, depth and strict JSON limits) and then validated; the metadata store blocks, so every store call runs
in the thread pool, away from the decide path's event loop.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from fastapi import FastAPI, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from zhongtai.errors import ErrorCode, ZhongtaiError
from zhongtai.gateway.openapi import SECURED, errors
from zhongtai.gateway.request_body import json_object
from zhongtai.govern.audit import key_rule
from zhongtai.models import aliases, registry
from zhongtai.models.policy import ModelAction
from zhongtai.models.review import REVIEW_ACTIONS, review

if TYPE_CHECKING:
    from zhongtai.capabilities.keys import Principal
    from zhongtai.meta.store import MetadataStore

READER_ROLES = ("models", "catalog", "admin")
ACTOR_ROLES = ("models", "admin")
# A comment or reason is a sentence or two for the record, not a document.
NOTE = Field(default="", max_length=2000)
# Versions are numbered from 1; the bound keeps a path the document calls valid within the store's integers.
VERSION = Path(ge=1, le=2**31 - 1)
# The alias as `check_alias` takes it, so the document calls valid only what a move can accept.
ALIAS = Path(pattern=registry.ALIAS_PATTERN.pattern)
READ_ERRORS = errors(401, 403, 404, 422)
ACT_ERRORS = errors(400, 401, 403, 404, 409, 413, 422)
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


T = TypeVar("T")


async def _off_loop(call: Callable[[], T]) -> T:
    return await run_in_threadpool(call)


def add_model_routes(app: FastAPI, presented_key: Any) -> None:
    """Mount /v1/models/... on the gateway."""

    def reader(request: Request) -> MetadataStore:
        gateway = request.app.state.gateway
        gateway.keys.require(presented_key(request), READER_ROLES, "read the model registry")
        return gateway.store

    def actor(request: Request) -> tuple[MetadataStore, Principal]:
        gateway = request.app.state.gateway
        principal = gateway.keys.require(presented_key(request), ACTOR_ROLES, "review models or move aliases")
        return gateway.store, principal

    @app.get("/v1/models", tags=["models"], responses=READ_ERRORS, openapi_extra=SECURED)
    async def list_models(request: Request, model: str | None = None) -> dict[str, Any]:
        """Every model version (or one model's), oldest first, with status and aliases."""
        store = reader(request)
        found = await _off_loop(lambda: registry.list_versions(store, model))
        return {"versions": [v.to_dict() for v in found]}

    @app.get(
        "/v1/models/{name}/versions/{version}", tags=["models"], responses=READ_ERRORS, openapi_extra=SECURED
    )
    async def show_version(request: Request, name: str, version: int = VERSION) -> dict[str, Any]:
        """One version with its metrics, aliases and review steps, and where every alias of the model points."""
        store = reader(request)
        return await _off_loop(lambda: registry.show(store, name, version))

    for action in REVIEW_ACTIONS:
        _add_review_route(app, actor, action)

    @app.put(
        "/v1/models/{name}/aliases/{alias}",
        tags=["models"],
        responses=ACT_ERRORS,
        openapi_extra=documented_body(AliasBody, required=True),
    )
    async def set_alias(request: Request, name: str, alias: str = ALIAS) -> dict[str, Any]:
        """Point the alias at a version; a serving alias takes only an approved one (unless the spec says
        `require_approval: false`)."""
        store, principal = actor(request)
        body = await validated_body(request, AliasBody, required=True)
        if body is None:  # required bodies are never None; this keeps the type checker honest
            raise ZhongtaiError(ErrorCode.INVALID_ARGUMENT, "the body is required")
        move = await _off_loop(
            lambda: aliases.move(
                store, name, body.version, alias, principal.name, body.reason, key_rule(principal.roles)
            )
        )
        return move.to_dict()

    @app.delete(
        "/v1/models/{name}/aliases/{alias}", tags=["models"], responses=ACT_ERRORS, openapi_extra=SECURED
    )
    async def remove_alias(
        request: Request, name: str, alias: str = ALIAS, reason: str = Query(default="", max_length=2000)
    ) -> dict[str, Any]:
        """Unset the alias; recorded like any move."""
        store, principal = actor(request)
        move = await _off_loop(
            lambda: aliases.remove(store, name, alias, principal.name, reason, key_rule(principal.roles))
        )
        return move.to_dict()

    @app.post(
        "/v1/models/{name}/aliases/{alias}/rollback",
        tags=["models"],
        responses=ACT_ERRORS,
        openapi_extra=documented_body(RollbackBody, required=False),
    )
    async def rollback(request: Request, name: str, alias: str = ALIAS) -> dict[str, Any]:
        """Move the alias back to the version its last move took it from, in one step."""
        store, principal = actor(request)
        body = await validated_body(request, RollbackBody, required=False)
        reason = body.reason if body else ""
        move = await _off_loop(
            lambda: aliases.rollback(store, name, alias, principal.name, reason, key_rule(principal.roles))
        )
        return move.to_dict()

    @app.get("/v1/models/{name}/history", tags=["models"], responses=READ_ERRORS, openapi_extra=SECURED)
    async def history(
        request: Request, name: str, alias: str | None = None, at: datetime | None = None
    ) -> dict[str, Any]:
        """Every alias move (from, to, who, when, why), oldest first; with `at`, where each alias pointed
        at that moment (no offset means UTC)."""
        store = reader(request)
        if at is not None:
            when = at
            found = await _off_loop(lambda: aliases.aliases_at(store, name, when))
            if alias is not None:
                found = {a: v for a, v in found.items() if a == alias}
            return {"model": name, "at": at.isoformat(), "aliases": found}
        moves = await _off_loop(lambda: aliases.history(store, name, alias))
        return {"model": name, "moves": [m.to_dict() for m in moves]}


def _add_review_route(app: FastAPI, actor: Any, action: ModelAction) -> None:
    """POST /v1/models/{name}/versions/{version}/{action}, for one review step."""

    async def step(request: Request, name: str, version: int = VERSION) -> dict[str, Any]:
        store, principal = actor(request)
        body = await validated_body(request, ReviewBody, required=False)
        comment = body.comment if body else ""
        done = await _off_loop(
            lambda: review(store, name, version, action, principal.name, comment, key_rule(principal.roles))
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
