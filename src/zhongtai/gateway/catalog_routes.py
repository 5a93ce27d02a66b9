"""Catalog and lineage as JSON, for principals whose key carries the `catalog` or `admin` role."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request

from zhongtai.gateway.openapi import SECURED, errors

if TYPE_CHECKING:
    from zhongtai.gateway.app import Gateway

READER_ROLES = ("catalog", "admin")
_ERRORS = errors(401, 403, 404, 422)


def add_catalog_routes(app: FastAPI, presented_key: Any) -> None:
    """Mount the read-only catalog endpoints. Plain `def` handlers: they query the metadata store, which
    blocks, so FastAPI runs them in its thread pool, away from the decide path's event loop."""

    def reader(request: Request) -> Gateway:
        gateway: Gateway = request.app.state.gateway
        gateway.keys.require(presented_key(request), READER_ROLES, "read the catalog")
        return gateway

    @app.get("/v1/catalog/search", tags=["catalog"], responses=_ERRORS, openapi_extra=SECURED)
    def catalog_search(request: Request, q: str) -> dict[str, Any]:
        """Objects whose names, descriptions, owners or fields mention `q`."""
        from zhongtai.catalog.entries import search

        return {"query": q, "results": search(reader(request).store, q)}

    @app.get("/v1/catalog/{name}", tags=["catalog"], responses=_ERRORS, openapi_extra=SECURED)
    def catalog_show(request: Request, name: str) -> dict[str, Any]:
        """One object as the catalog describes it (`kind:name` when several kinds use the name)."""
        from zhongtai.catalog.entries import entry
        from zhongtai.catalog.lineage import LineageGraph

        store = reader(request).store
        node = LineageGraph.from_store(store).find(name)
        return entry(store, node.kind, node.name).to_dict()

    @app.get("/v1/lineage/{name}", tags=["catalog"], responses=_ERRORS, openapi_extra=SECURED)
    def lineage(request: Request, name: str) -> dict[str, Any]:
        """Upstream and downstream edges of an object."""
        from zhongtai.catalog.lineage import LineageGraph

        return LineageGraph.from_store(reader(request).store).describe(name)
