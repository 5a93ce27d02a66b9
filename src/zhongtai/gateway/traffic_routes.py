"""A capability's traffic over HTTP: the policy in force and its history, a live split, a reset.

Reading it needs `read_models` on the capability, changing it `change_traffic` (the policy engine decides,
through the routes' one dependency); the principal of a change is the caller's name, recorded in the change log with the reason given. Store calls run in
the thread pool, away from the decide path's event loop.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from fastapi import FastAPI, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from zhongtai.capabilities.traffic import checked_policy, effective_policy, set_split
from zhongtai.gateway.authz import Access, allow
from zhongtai.gateway.models_routes import NOTE, documented_body, required_body, validated_body
from zhongtai.gateway.openapi import SECURED, errors
from zhongtai.spec.models import CapabilitySpec
from zhongtai.spec.traffic import ArmSpec, ShadowSpec

if TYPE_CHECKING:
    from zhongtai.meta.store import MetadataStore


class SplitBody(BaseModel):
    """The new policy: arms with weights (and shadows), and why."""

    model_config = ConfigDict(extra="forbid")
    arms: list[ArmSpec] = Field(min_length=1, max_length=10)
    shadows: list[ShadowSpec] = Field(default=[], max_length=5)
    reason: str = NOTE


class ResetBody(BaseModel):
    """Why the live split is dropped."""

    model_config = ConfigDict(extra="forbid")
    reason: str = NOTE


def _state(store: MetadataStore, name: str) -> dict[str, Any]:
    spec = CapabilitySpec.model_validate(store.spec("capabilities", name))
    live = store.traffic.get(name)
    return {
        "capability": name,
        "origin": "live" if live else ("spec" if spec.traffic else "alias"),
        "policy": effective_policy(store, spec).model_dump(mode="json"),
        # Where a canary ramp stands (step, since, status, reason), kept with the live split.
        "canary_state": live.state if live and live.state else None,
        "history": [{**c, "at": c["at"].isoformat()} for c in store.traffic.history(name)],
    }


def _store(request: Request) -> MetadataStore:
    return request.app.state.gateway.store


def add_traffic_routes(app: FastAPI) -> None:
    """Mount /v1/capabilities/{name}/traffic on the gateway."""

    @app.get(
        "/v1/capabilities/{name}/traffic",
        tags=["capabilities"],
        responses=errors(401, 403, 404, 422, 429),
        openapi_extra=SECURED,
    )
    async def show_traffic(
        request: Request, access: Annotated[Access, allow("read_models", "name", "capabilities")], name: str
    ) -> dict[str, Any]:
        """The traffic policy in force (live split, spec, or the alias alone) and its recent changes."""
        return await run_in_threadpool(_state, _store(request), name)

    @app.put(
        "/v1/capabilities/{name}/traffic",
        tags=["capabilities"],
        responses=errors(400, 401, 403, 404, 413, 422, 429),
        openapi_extra=documented_body(SplitBody, required=True),
    )
    async def split_traffic(
        request: Request, access: Annotated[Access, allow("change_traffic", "name")], name: str
    ) -> dict[str, Any]:
        """Set a live split; every gateway follows within its poll interval. Arms name an alias or a pinned
        (approved) version; the same entity keeps its arm while the weights stand."""
        store, principal = _store(request), access.principal.name
        body = await required_body(request, SplitBody)
        policy = checked_policy(body.model_dump(exclude={"reason"}))
        await run_in_threadpool(set_split, store, name, policy, principal, body.reason, access.rule(name))
        return await run_in_threadpool(_state, store, name)

    @app.delete(
        "/v1/capabilities/{name}/traffic",
        tags=["capabilities"],
        responses=errors(400, 401, 403, 404, 413, 422, 429),
        openapi_extra=documented_body(ResetBody, required=False),
    )
    async def reset_traffic(
        request: Request, access: Annotated[Access, allow("change_traffic", "name")], name: str
    ) -> dict[str, Any]:
        """Drop the live split: the spec's traffic (or its alias alone) serves again."""
        store, principal = _store(request), access.principal.name
        body = await validated_body(request, ResetBody, required=False)
        await run_in_threadpool(store.spec, "capabilities", name)  # 404 for an unknown capability
        reason = body.reason if body else ""
        await run_in_threadpool(store.traffic.reset, name, principal, reason, access.rule(name))
        return await run_in_threadpool(_state, store, name)
