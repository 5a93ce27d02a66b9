"""A dataset's fields (paged), versions and quality results, and the lineage graph for drawing: what the
console's Data and Lineage pages read, through the same API the CLI and SDK could call.

Fields, versions and the graph are catalog metadata (`read_catalog`; the graph shows only the objects the
caller may read); quality results quote quarantined rows, so they are `read_dataset`, masked by class for a
caller the policy does not let `see_pii` (catalog/datasets.py).
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import FastAPI, Query, Request

from zhongtai.gateway.authz import Access, allow
from zhongtai.gateway.openapi import SECURED, errors

if TYPE_CHECKING:
    from zhongtai.config import Settings
    from zhongtai.meta.store import MetadataStore

_ERRORS = errors(401, 403, 404, 422, 429)
_NAME_ERRORS = errors(401, 403, 404, 409, 422, 429)
MAX_FIELDS = 500
MAX_SAMPLES = 100


def add_data_routes(app: FastAPI, settings: Settings) -> None:
    """Mount the dataset detail and lineage graph routes (plain `def`: they block on the store and lake)."""
    from zhongtai.lake.storage import LakeStorage

    lake = LakeStorage(settings.lake_url)

    def store(request: Request) -> MetadataStore:
        return request.app.state.gateway.store

    @app.get("/v1/datasets/{name}/fields", tags=["catalog"], responses=_ERRORS, openapi_extra=SECURED)
    def dataset_fields(
        request: Request,
        name: str,
        access: Annotated[Access, allow("read_catalog", "name")],
        q: Annotated[str, Query(max_length=200, description="Text in a field's name or description")] = "",
        pii: Annotated[bool, Query(description="Only fields with a PII class")] = False,
        offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_FIELDS)] = 50,
    ) -> dict[str, Any]:
        """A page of the dataset's fields in column order (type, PII class, storage, description)."""
        from zhongtai.catalog.datasets import FieldQuery, field_page

        return field_page(store(request), name, FieldQuery(text=q, pii_only=pii, offset=offset, limit=limit))

    @app.get("/v1/datasets/{name}/versions", tags=["catalog"], responses=_ERRORS, openapi_extra=SECURED)
    def dataset_versions(
        request: Request, name: str, access: Annotated[Access, allow("read_catalog", "name")]
    ) -> dict[str, Any]:
        """Every version of the dataset, newest first."""
        from zhongtai.catalog.datasets import version_list

        return version_list(store(request), name)

    @app.get("/v1/datasets/{name}/quality", tags=["catalog"], responses=_ERRORS, openapi_extra=SECURED)
    def dataset_quality(
        request: Request,
        name: str,
        access: Annotated[Access, allow("read_dataset", "name")],
        version: Annotated[int | None, Query(ge=1)] = None,
        samples: Annotated[int, Query(ge=0, le=MAX_SAMPLES)] = 10,
    ) -> dict[str, Any]:
        """The quality rules' results for a version (default: current) and a sample of quarantined rows,
        masked for the caller."""
        from zhongtai.catalog.datasets import quality_view
        from zhongtai.govern.keys import load_keys
        from zhongtai.govern.masking import disclosure

        seen = disclosure(access.engine, access.principal, name, "datasets")
        keys = partial(load_keys, settings.home)
        return quality_view(store(request), lake, name, version, samples, seen, keys)

    @app.get("/v1/lineage", tags=["catalog"], responses=_NAME_ERRORS, openapi_extra=SECURED)
    def lineage_graph(
        request: Request,
        access: Annotated[Access, allow("read_catalog")],
        root: Annotated[
            str | None,
            Query(max_length=300, description="Only what is upstream or downstream of this object"),
        ] = None,
    ) -> dict[str, Any]:
        """The lineage graph as nodes and edges, from sources to capabilities, among the objects the caller
        may read (with `root`: only that object's chain)."""
        from zhongtai.catalog.lineage import LineageGraph, graph_view

        graph = LineageGraph.from_store(store(request))
        if root is not None:
            node = graph.find(root)
            access.require(node.name, node.kind)
        return graph_view(graph, lambda n: access.allows(n.name, n.kind), root)
