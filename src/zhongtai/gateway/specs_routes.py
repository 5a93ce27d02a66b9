"""Spec documents over HTTP: plan, impact, apply and export, so a capability composed in the console (or by any
client) becomes the same spec change `zhongtai plan` / `zhongtai apply` make, audited, and goes back to the
git repository of specs as YAML.

Planning, replaying and applying need `apply_specs` (the policy engine decides, through the routes' one
dependency); applying also asks it of each object the document names. Reading a registered capability's
spec (listing, YAML export) needs `read_models` on it, as reading its traffic does. A change is audited naming the caller's principal and the
rule that allowed it (spec/documents.py, the package function). The store blocks: every call runs in the
thread pool. Serving follows the registry (capabilities/serving.py), so an applied capability answers on
every gateway within the poll interval.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import FastAPI, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from zhongtai.gateway.authz import Access, allow
from zhongtai.gateway.models_routes import documented_body, required_body
from zhongtai.gateway.openapi import SECURED, errors
from zhongtai.meta.time import now
from zhongtai.spec.documents import MAX_DOCUMENT_CHARS

if TYPE_CHECKING:
    from zhongtai.config import Settings
    from zhongtai.meta.store import MetadataStore

ACT_ERRORS = errors(400, 401, 403, 404, 409, 413, 422, 429)
CAPABILITY_NAME = r"^[a-z][a-z0-9_-]{0,62}$"


class SpecDocument(BaseModel):
    """A spec document as YAML (or JSON) text, and the name its errors are reported under."""

    model_config = ConfigDict(extra="forbid")
    document: str = Field(min_length=1, max_length=MAX_DOCUMENT_CHARS)
    source: str = Field(default="capability.yaml", min_length=1, max_length=200)


class SpecStep(BaseModel):
    kind: str
    action: str
    name: str
    changes: list[dict[str, Any]]
    breaking: list[str]
    additive: list[str]
    notes: list[str]


class SpecPlan(BaseModel):
    """The plan of a document, and whether it was applied (in one transaction, audited)."""

    steps: list[SpecStep]
    applied: bool


class Impact(BaseModel):
    capability: str
    status: str = Field(description="replayed, new (nothing logged yet) or unsupported (see message)")
    message: str | None = None
    report: dict[str, Any] | None = None


class Impacts(BaseModel):
    """What the document's capabilities would have answered to their logged decisions."""

    since: str
    impacts: list[Impact]


class RegisteredCapability(BaseModel):
    name: str
    spec: dict[str, Any]


class RegisteredCapabilities(BaseModel):
    capabilities: list[RegisteredCapability]


class ExportedSpec(BaseModel):
    """A registered spec, and the YAML document that declares it for the repository of specs."""

    kind: str
    name: str
    spec: dict[str, Any]
    yaml: str


def _store(request: Request) -> MetadataStore:
    return request.app.state.gateway.store


def add_spec_routes(app: FastAPI, settings: Settings) -> None:
    """Mount /v1/specs/... on the gateway; `settings` name the lake the impact replay loads models from."""
    from zhongtai.lake.storage import LakeStorage

    lake = LakeStorage(settings.lake_url)
    for applying in (False, True):
        _add_plan_route(app, applying)

    @app.post(
        "/v1/specs/impact",
        tags=["specs"],
        response_model=Impacts,
        responses=ACT_ERRORS,
        openapi_extra=documented_body(SpecDocument, required=True),
    )
    async def spec_impact(
        request: Request,
        access: Annotated[Access, allow("apply_specs")],
        days: int = Query(default=7, ge=1, le=90, description="Replay the decisions of this many days."),
        limit: int = Query(default=20_000, ge=1, le=200_000, description="At most this many decisions."),
    ) -> Any:
        """Replay each capability's logged decisions under the document's model and score bands: how many
        answers would stay, how the scores move, which flip to what. Nothing is written."""
        from zhongtai.capabilities.impact import document_impact

        body = await required_body(request, SpecDocument)
        since = now() - timedelta(days=days)
        impacts = await run_in_threadpool(
            document_impact, _store(request), lake, body.document, body.source, since, limit
        )
        return {"since": since.isoformat(), "impacts": impacts}

    @app.get(
        "/v1/specs/capabilities",
        tags=["specs"],
        response_model=RegisteredCapabilities,
        responses=errors(401, 403, 422, 429),
        openapi_extra=SECURED,
    )
    async def list_capability_specs(request: Request, access: Annotated[Access, allow("read_models")]) -> Any:
        """Every registered capability the caller may read, with its spec, by name: loaded or not (what
        `GET /v1/capabilities` lists is what serves, for callers)."""
        registered = await run_in_threadpool(_store(request).registered, "capabilities")
        return {
            "capabilities": [
                {"name": name, "spec": spec}
                for name, spec in sorted(registered.items())
                if access.allows(name, "capabilities")
            ]
        }

    @app.get(
        "/v1/specs/capabilities/{name}",
        tags=["specs"],
        response_model=ExportedSpec,
        responses=errors(401, 403, 404, 422, 429),
        openapi_extra=SECURED,
    )
    async def export_capability(
        request: Request,
        access: Annotated[Access, allow("read_models", "name", "capabilities")],
        name: str,
    ) -> Any:
        """The capability's registered spec, and as the YAML a project file holds (`zhongtai plan` of that
        file shows no change)."""
        from zhongtai.spec.documents import export_spec

        spec, text = await run_in_threadpool(export_spec, _store(request), "capabilities", name)
        return {"kind": "capabilities", "name": name, "spec": spec, "yaml": text}


def _add_plan_route(app: FastAPI, applying: bool) -> None:
    guard = allow("apply_specs")  # a default, not an annotation (see models_routes._add_review_route)

    async def specs(request: Request, access: Access = guard) -> Any:
        from zhongtai.spec.documents import apply_document, plan_document

        body = await required_body(request, SpecDocument)
        store, who = _store(request), access.principal.name
        if applying:
            rule = access.engine.may_ever(access.principal, "apply_specs").rule
            plan = await run_in_threadpool(
                apply_document, store, body.document, body.source, who, rule, access.require
            )
        else:
            plan = await run_in_threadpool(plan_document, store, body.document, body.source)
        return {"steps": [s.to_dict() for s in plan.steps], "applied": applying and not plan.empty}

    specs.__doc__ = (
        "Apply a spec document in one transaction, audited: each object it names is created or replaced, "
        "nothing else is touched; errors name the document's line and field (422)."
        if applying
        else "What applying a spec document would create or change (the plan `zhongtai plan` shows); "
        "nothing is written. Errors name the document's line and field (422)."
    )
    verb = "apply" if applying else "plan"
    app.post(
        f"/v1/specs/{verb}",
        tags=["specs"],
        name=f"{verb}_specs",
        response_model=SpecPlan,
        responses=ACT_ERRORS,
        openapi_extra=documented_body(SpecDocument, required=True),
    )(specs)
