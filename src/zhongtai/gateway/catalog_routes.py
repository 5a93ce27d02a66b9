"""Catalog and lineage as JSON, for principals the policy lets `read_catalog` (each object judged on its own:
a search shows only the objects the caller may read); a dataset's first rows for those it lets
`read_dataset`, PII masked by class unless the policy lets them `see_pii` it (govern/masking.py)."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import FastAPI, Query, Request
from fastapi.responses import StreamingResponse

from zhongtai.errors import ZhongtaiError
from zhongtai.gateway.authz import Access, allow
from zhongtai.gateway.openapi import SECURED, errors

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from zhongtai.config import Settings
    from zhongtai.govern.keys import PiiKeys
    from zhongtai.govern.masking import Disclosure
    from zhongtai.lake.storage import LakeStorage
    from zhongtai.meta.store import MetadataStore

_ERRORS = errors(401, 403, 404, 422, 429)
# A name several kinds share is a 409 listing them (catalog/lineage.py).
_NAME_ERRORS = errors(401, 403, 404, 409, 422, 429)
MAX_PREVIEW_ROWS = 1_000
MAX_SEARCHED = 200
MAX_PREVIEW_COLUMNS = 100
# The kinds a search may be narrowed to, as their nouns with `_` for a space (catalog/entries.py).
_KIND_PATTERN = "^(source|dataset|entity|feature_view|on-demand_view|feature_group|model|capability)$"


def add_catalog_routes(app: FastAPI, settings: Settings) -> None:
    """Mount the read-only catalog endpoints. Plain `def` handlers: they query the metadata store, which
    blocks, so FastAPI runs them in its thread pool, away from the decide path's event loop."""
    _add_dataset_routes(app, settings)

    def store(request: Request) -> MetadataStore:
        return request.app.state.gateway.store

    @app.get("/v1/catalog/search", tags=["catalog"], responses=_ERRORS, openapi_extra=SECURED)
    def catalog_search(
        request: Request,
        access: Annotated[Access, allow("read_catalog")],
        q: Annotated[
            str, Query(max_length=200, description="Words to look for; empty lists every object")
        ] = "",
        kind: Annotated[
            str | None, Query(pattern=_KIND_PATTERN, description="Only objects of this kind (e.g. dataset)")
        ] = None,
        offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_SEARCHED)] = 20,
    ) -> dict[str, Any]:
        """Objects whose names, descriptions, owners or fields mention `q`, among those the caller may read,
        best first, a page at a time (`total` counts the readable hits)."""
        from zhongtai.catalog.entries import SEARCHED_KINDS, search
        from zhongtai.meta.store import KIND_NOUN

        kind_of = {noun: kind for kind, noun in KIND_NOUN.items()}
        kinds = SEARCHED_KINDS if kind is None else (kind_of[kind.replace("_", " ")],)
        found = search(store(request), q, None, kinds)
        readable = [h for h in found if access.allows(h["name"], kind_of.get(h["kind"]))]
        return {"query": q, "total": len(readable), "results": readable[offset : offset + limit]}

    @app.get("/v1/catalog/{name}", tags=["catalog"], responses=_NAME_ERRORS, openapi_extra=SECURED)
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

    @app.get("/v1/lineage/{name}", tags=["catalog"], responses=_NAME_ERRORS, openapi_extra=SECURED)
    def lineage(
        request: Request, name: str, access: Annotated[Access, allow("read_catalog")]
    ) -> dict[str, Any]:
        """Upstream and downstream edges of an object."""
        from zhongtai.catalog.lineage import LineageGraph

        graph = LineageGraph.from_store(store(request))
        node = graph.find(name)
        access.require(node.name, node.kind)
        return graph.describe(name)


def _add_dataset_routes(app: FastAPI, settings: Settings) -> None:
    """A dataset's rows, previewed or exported whole, masked for the caller (`read_dataset`)."""
    from zhongtai.lake.storage import LakeStorage

    lake = LakeStorage(settings.lake_url)

    def store(request: Request) -> MetadataStore:
        return request.app.state.gateway.store

    @app.get(
        "/v1/datasets/{name}/export",
        tags=["catalog"],
        responses=_ERRORS,
        openapi_extra=SECURED,
        response_class=StreamingResponse,
    )
    def dataset_export(
        request: Request,
        name: str,
        access: Annotated[Access, allow("read_dataset", "name")],
        version: Annotated[int | None, Query(ge=1)] = None,
    ) -> StreamingResponse:
        """Every row of a dataset version (default: current) as JSON lines, streamed, masked as the preview is."""
        from zhongtai.govern.keys import load_keys
        from zhongtai.govern.masking import disclosure, field_classes
        from zhongtai.lake.reader import resolve_version

        registry = store(request)
        registry.dataset_spec(name)  # not_found before any read
        found = resolve_version(registry, name, version)
        classes = field_classes(registry.fields(name))
        seen = disclosure(access.engine, access.principal, name, "datasets")
        lines = _json_lines(
            registry, lake, name, found.version, classes, seen, partial(load_keys, settings.home)
        )
        return StreamingResponse(lines, media_type="application/x-ndjson")

    @app.get("/v1/datasets/{name}/preview", tags=["catalog"], responses=_ERRORS, openapi_extra=SECURED)
    def dataset_preview(
        request: Request,
        name: str,
        access: Annotated[Access, allow("read_dataset", "name")],
        limit: Annotated[int, Query(ge=1, le=MAX_PREVIEW_ROWS)] = 10,
        version: Annotated[int | None, Query(ge=1)] = None,
        columns: Annotated[
            list[str] | None,
            Query(max_length=MAX_PREVIEW_COLUMNS, description="Only these columns (default: every column)"),
        ] = None,
    ) -> dict[str, Any]:
        """The first rows of a dataset version (default: current) as the caller may see them: a field stored
        encrypted shown from its copy, decrypted, tokens as the lake holds them, and clear values of a PII
        class the caller may not see masked. `columns` keeps a wide table's answer to the columns asked;
        `columns` in the answer lists every column of the version."""
        from zhongtai.govern.clear_copies import open_table
        from zhongtai.govern.keys import load_keys
        from zhongtai.govern.masking import disclosure, field_classes, mask_table
        from zhongtai.lake.reader import read_table, resolve_version

        registry = store(request)
        spec, _ = registry.dataset_spec(name)  # not_found before any read
        found = resolve_version(registry, name, version)
        classes = field_classes(registry.fields(name))
        seen = disclosure(access.engine, access.principal, name, "datasets")
        table = read_table(registry, lake, name, found.version, limit)
        keys = partial(load_keys, settings.home)
        table = open_table(table, keys)
        if "identity" in spec:  # golden records keep names and addresses sealed (identity/inputs.py)
            from zhongtai.identity.inputs import open_sealed

            table = open_sealed(table, keys)
        every = table.column_names
        if columns:
            table = table.select(_known_columns(columns, every, name))
        table = mask_table(table, classes, seen)
        masked = sorted(f for f, pii in classes.items() if f in table.column_names and not seen.sees(pii))
        return {
            "dataset": name,
            "version": found.version,
            "columns": every,
            "masked": masked,
            "rows": table.to_pylist(),
        }


def _known_columns(asked: list[str], every: list[str], dataset: str) -> list[str]:
    """The asked columns in the version's order; invalid_argument naming the first unknown one."""
    unknown = [c for c in asked if c not in every]
    if unknown:
        raise ZhongtaiError(
            "invalid_argument",
            f"dataset '{dataset}' has no column '{unknown[0]}'",
            f"GET /v1/datasets/{dataset}/fields lists its columns",
        )
    wanted = set(asked)
    return [c for c in every if c in wanted]


def _json_lines(
    registry: MetadataStore,
    lake: LakeStorage,
    name: str,
    version: int,
    classes: dict[str, str],
    seen: Disclosure,
    keys: Callable[[], PiiKeys],
) -> Iterator[bytes]:
    """The version's rows as JSON lines, one masked batch at a time (the response streams them)."""
    import json

    from zhongtai.govern.clear_copies import open_batch
    from zhongtai.govern.masking import mask_batch
    from zhongtai.lake.reader import open_version

    with open_version(registry, lake, name, version) as (_, reader):
        for batch in reader:
            rows = mask_batch(open_batch(batch, keys), classes, seen).to_pylist()
            if rows:
                text = "\n".join(json.dumps(r, ensure_ascii=False, default=str) for r in rows)
                yield (text + "\n").encode()
