"""The model registry over HTTP, for the console and other systems: versions, review steps, alias moves.

Reading needs a key with the `models`, `catalog` or `admin` role; acting (submit, approve, reject, archive,
alias moves, rollback) needs `models` or `admin`. The principal of every step is the key's name, so four
eyes holds across keys as it does across `ZT_PRINCIPAL` on the CLI. Every refusal is a 4xx
{code, message, hint} from the same functions the CLI calls. Handlers are plain `def`: the metadata store
blocks, so FastAPI runs them in its thread pool, away from the decide path's event loop.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Query, Request
from pydantic import BaseModel, ConfigDict, Field

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


class ReviewBody(BaseModel):
    """Why this step: kept with the review record."""

    model_config = ConfigDict(extra="forbid")
    comment: str = NOTE


class AliasBody(BaseModel):
    """The version the alias should point at, and why (kept in the alias history)."""

    model_config = ConfigDict(extra="forbid")
    version: int = Field(ge=1)
    reason: str = NOTE


class RollbackBody(BaseModel):
    """Why the alias goes back (kept in the alias history)."""

    model_config = ConfigDict(extra="forbid")
    reason: str = NOTE


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

    @app.get("/v1/models", tags=["models"])
    def list_models(request: Request, model: str | None = None) -> dict[str, Any]:
        """Every model version (or one model's), oldest first, with status and aliases."""
        return {"versions": [v.to_dict() for v in registry.list_versions(reader(request), model)]}

    @app.get("/v1/models/{name}/versions/{version}", tags=["models"])
    def show_version(request: Request, name: str, version: int) -> dict[str, Any]:
        """One version with its metrics, aliases and review steps, and where every alias of the model points."""
        return registry.show(reader(request), name, version)

    for action in REVIEW_ACTIONS:
        _add_review_route(app, actor, action)

    @app.put("/v1/models/{name}/aliases/{alias}", tags=["models"])
    def set_alias(request: Request, name: str, alias: str, body: AliasBody) -> dict[str, Any]:
        """Point the alias at a version; a serving alias takes only an approved one (unless the spec says
        `require_approval: false`)."""
        store, principal = actor(request)
        return aliases.move(store, name, body.version, alias, principal.name, body.reason).to_dict()

    @app.delete("/v1/models/{name}/aliases/{alias}", tags=["models"])
    def remove_alias(
        request: Request, name: str, alias: str, reason: str = Query(default="", max_length=2000)
    ) -> dict[str, Any]:
        """Unset the alias; recorded like any move."""
        store, principal = actor(request)
        return aliases.remove(store, name, alias, principal.name, reason).to_dict()

    @app.post("/v1/models/{name}/aliases/{alias}/rollback", tags=["models"])
    def rollback(request: Request, name: str, alias: str, body: RollbackBody | None = None) -> dict[str, Any]:
        """Move the alias back to the version its last move took it from, in one step."""
        store, principal = actor(request)
        return aliases.rollback(store, name, alias, principal.name, body.reason if body else "").to_dict()

    @app.get("/v1/models/{name}/history", tags=["models"])
    def history(
        request: Request, name: str, alias: str | None = None, at: datetime | None = None
    ) -> dict[str, Any]:
        """Every alias move (from, to, who, when, why), oldest first; with `at`, where each alias pointed
        at that moment (no offset means UTC)."""
        store = reader(request)
        if at is not None:
            found = aliases.aliases_at(store, name, at)
            if alias is not None:
                found = {a: v for a, v in found.items() if a == alias}
            return {"model": name, "at": at.isoformat(), "aliases": found}
        return {"model": name, "moves": [m.to_dict() for m in aliases.history(store, name, alias)]}


def _add_review_route(app: FastAPI, actor: Any, action: ModelAction) -> None:
    """POST /v1/models/{name}/versions/{version}/{action}, for one review step."""

    def step(request: Request, name: str, version: int, body: ReviewBody | None = None) -> dict[str, Any]:
        store, principal = actor(request)
        comment = body.comment if body else ""
        return review(store, name, version, action, principal.name, comment).to_dict()

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
    )(step)
