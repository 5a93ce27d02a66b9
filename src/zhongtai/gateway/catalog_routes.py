"""Catalog and lineage as JSON, for principals the policy lets `read_catalog` (each object judged on its own:
a search shows only the objects the caller may read)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from fastapi import FastAPI, Request

from zhongtai.gateway.authz import Access, allow
from zhongtai.gateway.openapi import SECURED, errors

if TYPE_CHECKING:
    from zhongtai.meta.store import MetadataStore

_ERRORS = errors(401, 403, 404, 409, 422, 429)


def add_catalog_routes(app: FastAPI) -> None:
    """Mount the read-only catalog endpoints. Plain `def` handlers: they query the metadata store, which
    blocks, so FastAPI runs them in its thread pool, away from the decide path's event loop."""

    def store(request: Request) -> MetadataStore:
        return request.app.state.gateway.store

    @app.get("/v1/catalog/search", tags=["catalog"], responses=_ERRORS, openapi_extra=SECURED)
    def catalog_search(
        request: Request, q: str, access: Annotated[Access, allow("read_catalog")]
    ) -> dict[str, Any]:
        """Objects whose names, descriptions, owners or fields mention `q`, among those the caller may read."""
        from zhongtai.catalog.entries import search
        from zhongtai.meta.store import KIND_NOUN

        kind_of = {noun: kind for kind, noun in KIND_NOUN.items()}
        found = search(store(request), q)
        return {"query": q, "results": [h for h in found if access.allows(h["name"], kind_of.get(h["kind"]))]}

    @app.get("/v1/catalog/{name}", tags=["catalog"], responses=_ERRORS, openapi_extra=SECURED)
    def catalog_show(
        request: Request, name: str, access: Annotated[Access, allow("read_catalog")]
    ) -> dict[str, Any]:
        """One object as the catalog describes it (`kind:name` when several kinds use the name)."""
        from zhongtai.catalog.entries import entry
        from zhongtai.catalog.lineage import LineageGraph

        registry = store(request)
        node = LineageGraph.from_store(registry).find(name)
        access.require(node.name, node.kind)
        return entry(registry, node.kind, node.name).to_dict()

    @app.get("/v1/lineage/{name}", tags=["catalog"], responses=_ERRORS, openapi_extra=SECURED)
    def lineage(
        request: Request, name: str, access: Annotated[Access, allow("read_catalog")]
    ) -> dict[str, Any]:
        """Upstream and downstream edges of an object."""
        from zhongtai.catalog.lineage import LineageGraph

        graph = LineageGraph.from_store(store(request))
        node = graph.find(name)
        access.require(node.name, node.kind)
        return graph.describe(name)
