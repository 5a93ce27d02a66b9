"""Experiment runs and version comparison over HTTP: what `zhongtai runs` and `zhongtai models card` show.

Everything here is `read_models`, checked per model: a listing keeps only the runs of models the caller may
read (the filter is in the query, so a page is a page of what they may see), and one run, a comparison or a
card is refused (403) when any model it touches is not theirs to read. Plain `def` handlers: the metadata
store blocks, so they run in the thread pool.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import FastAPI, Path, Query, Request
from pydantic import Field, StringConstraints

from zhongtai.gateway.authz import Access, allow
from zhongtai.gateway.models_routes import VERSION
from zhongtai.gateway.openapi import SECURED, errors
from zhongtai.models import registry
from zhongtai.models.cards import card_of_version
from zhongtai.models.runs import compared, get_run, runs_page, version_as_run

READ_ERRORS = errors(401, 403, 404, 422, 429)
# A run id or an unambiguous prefix of one (ids are 32 hex characters).
RUN_ID = r"^[0-9a-f]{4,32}$"
RunRef = Annotated[str, StringConstraints(pattern=RUN_ID)]
# Versions are numbered from 1, within the store's integers.
VersionNumber = Annotated[int, Field(ge=1, le=2**31 - 1)]
MAX_COMPARED = 10


def _compare_body(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return {"runs": runs, "rows": compared(runs)}


def add_run_routes(app: FastAPI) -> None:
    """Mount /v1/runs/... and the version comparison and model card of /v1/models/{name}/..."""

    @app.get("/v1/runs", tags=["models"], responses=READ_ERRORS, openapi_extra=SECURED)
    def list_runs(
        request: Request,
        access: Annotated[Access, allow("read_models")],
        model: Annotated[str | None, Query(max_length=128)] = None,
        offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
    ) -> dict[str, Any]:
        """A page of experiment runs, newest first (of one model), among the models the caller may read."""
        store = request.app.state.gateway.store
        if model is not None:
            access.require(model)
            store.spec("models", model)  # an unknown model is a 404, not an empty page
            allowed: tuple[str, ...] = (model,)
        else:
            allowed = tuple(name for name in store.registered("models") if access.allows(name))
        runs, total = runs_page(store, allowed, offset, limit)
        return {"runs": runs, "total": total, "offset": offset, "limit": limit}

    @app.get("/v1/runs/compare", tags=["models"], responses=READ_ERRORS, openapi_extra=SECURED)
    def compare_runs(
        request: Request,
        access: Annotated[Access, allow("read_models")],
        run: Annotated[list[RunRef], Query(min_length=2, max_length=MAX_COMPARED)],
    ) -> dict[str, Any]:
        """Two or more runs side by side: one row per field, `differs` where their values are not all equal."""
        store = request.app.state.gateway.store
        runs = [get_run(store, reference) for reference in run]
        for found in runs:
            access.require(found["model"])
        return _compare_body(runs)

    @app.get("/v1/runs/{run_id}", tags=["models"], responses=READ_ERRORS, openapi_extra=SECURED)
    def show_run(
        request: Request,
        access: Annotated[Access, allow("read_models")],
        run_id: Annotated[str, Path(pattern=RUN_ID)],
    ) -> dict[str, Any]:
        """One run by id or unambiguous id prefix: params, metrics, candidates, data and code."""
        found = get_run(request.app.state.gateway.store, run_id)
        access.require(found["model"])
        return found

    @app.get("/v1/models/{name}/compare", tags=["models"], responses=READ_ERRORS, openapi_extra=SECURED)
    def compare_versions(
        request: Request,
        access: Annotated[Access, allow("read_models", "name")],
        name: str,
        version: Annotated[list[VersionNumber], Query(min_length=2, max_length=MAX_COMPARED)],
    ) -> dict[str, Any]:
        """Two or more versions of a model side by side (each through the run that registered it, if any)."""
        store = request.app.state.gateway.store
        return _compare_body([version_as_run(store, name, number) for number in version])

    @app.get(
        "/v1/models/{name}/versions/{version}/card",
        tags=["models"],
        responses=READ_ERRORS,
        openapi_extra=SECURED,
    )
    def model_card(
        request: Request,
        access: Annotated[Access, allow("read_models", "name")],
        name: str,
        version: int = VERSION,
    ) -> dict[str, Any]:
        """A version's model card as its training run wrote it (404 for a version registered without one)."""
        store = request.app.state.gateway.store
        found = registry.get_version(store, name, version)
        return {"model": found.model, "version": found.version, "card": card_of_version(store, found)}
