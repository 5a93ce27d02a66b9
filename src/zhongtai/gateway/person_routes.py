"""A OneID person from every side, for the console's Person 360° page and any API client: the identities the
caller may read, which person a source record belongs to, the person's rows in every source system, the
tags they carry with history, and the decisions made about them.

Everything about a person is `read_dataset` on the identity's golden dataset, as `GET
/v1/oneid/{name}/persons/{id}` is (oneid_routes.py); source rows are also `read_dataset` on each source
dataset (a dataset the caller may not read is listed withheld, without rows), masked by class unless the
policy lets them `see_pii` there. The decision log is `read_audit` on each decision's capability, and
rendered for the reader by `capabilities/decision_view.py`.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import FastAPI, Query, Request

from zhongtai.gateway.authz import Access, allow
from zhongtai.gateway.openapi import SECURED, errors
from zhongtai.govern.masking import disclosure

if TYPE_CHECKING:
    from zhongtai.config import Settings
    from zhongtai.identity.config import OneIDConfig
    from zhongtai.meta.store import MetadataStore

_ERRORS = errors(401, 403, 404, 422, 429)
MAX_DECISIONS = 100


def add_person_routes(app: FastAPI, settings: Settings) -> None:
    """Mount the person routes (plain `def`: they read the lake and the metadata store)."""
    from zhongtai.lake.storage import LakeStorage

    lake = LakeStorage(settings.lake_url)

    def identity(request: Request, name: str, access: Access) -> tuple[MetadataStore, OneIDConfig]:
        from zhongtai.identity.run import identity_spec

        store: MetadataStore = request.app.state.gateway.store
        config = identity_spec(store, name)
        access.engine.require(access.principal, "read_dataset", config.golden_dataset, "datasets")
        return store, config

    @app.get("/v1/oneid", tags=["oneid"], responses=_ERRORS, openapi_extra=SECURED)
    def oneid_list(request: Request, access: Annotated[Access, allow("read_dataset")]) -> dict[str, Any]:
        """The identities whose golden records the caller may read, with the datasets each resolves."""
        from zhongtai.identity.config import OneIDConfig

        store: MetadataStore = request.app.state.gateway.store
        found = []
        for payload in store.registered("identities").values():
            config = OneIDConfig.model_validate(payload)
            if access.allows(config.golden_dataset, "datasets"):
                found.append(
                    {
                        "name": config.name,
                        "entity": config.entity,
                        "description": config.description,
                        "golden_dataset": config.golden_dataset,
                        "sources": [s.dataset for s in config.sources],
                    }
                )
        return {"identities": sorted(found, key=lambda i: i["name"])}

    @app.get("/v1/oneid/{name}/records/{record_id}", tags=["oneid"], responses=_ERRORS, openapi_extra=SECURED)
    def oneid_record(
        request: Request, name: str, record_id: str, access: Annotated[Access, allow("read_dataset")]
    ) -> dict[str, Any]:
        """The person a source record (`<dataset>:<key>`) belongs to."""
        from zhongtai.identity.person import person_of

        store, config = identity(request, name, access)
        return person_of(store, lake, config, record_id)

    @app.get(
        "/v1/oneid/{name}/persons/{person_id}/records",
        tags=["oneid"],
        responses=_ERRORS,
        openapi_extra=SECURED,
    )
    def oneid_person_records(
        request: Request, name: str, person_id: str, access: Annotated[Access, allow("read_dataset")]
    ) -> dict[str, Any]:
        """The person's rows in every source dataset, as the caller may see them."""
        from zhongtai.govern.keys import load_keys
        from zhongtai.identity.person import source_records

        store, config = identity(request, name, access)

        def seen_on(dataset: str) -> Any:
            if not access.allows(dataset, "datasets"):
                return None
            return disclosure(access.engine, access.principal, dataset, "datasets")

        return source_records(store, lake, config, person_id, seen_on, partial(load_keys, settings.home))

    @app.get(
        "/v1/oneid/{name}/persons/{person_id}/tags", tags=["oneid"], responses=_ERRORS, openapi_extra=SECURED
    )
    def oneid_person_tags(
        request: Request, name: str, person_id: str, access: Annotated[Access, allow("read_dataset")]
    ) -> dict[str, Any]:
        """The tags of the person's entity: carried now or not, and every gain and loss, oldest first."""
        from zhongtai.identity.person import person_keys
        from zhongtai.tags.history import entity_tags

        store, config = identity(request, name, access)
        person_keys(store, lake, config, person_id)  # not_found for a person the run does not know
        return entity_tags(store, lake, config.entity, person_id)

    @app.get(
        "/v1/oneid/{name}/persons/{person_id}/decisions",
        tags=["oneid"],
        responses=_ERRORS,
        openapi_extra=SECURED,
    )
    def oneid_person_decisions(
        request: Request,
        name: str,
        person_id: str,
        access: Annotated[Access, allow("read_audit")],
        limit: Annotated[int, Query(ge=1, le=MAX_DECISIONS)] = 20,
    ) -> dict[str, Any]:
        """The newest decisions about the person (called with their person id, or with their key in a
        capability's input dataset), among those whose capability the caller may read."""
        from zhongtai.capabilities.about import decisions_about
        from zhongtai.capabilities.decision_view import KIND, decision_view
        from zhongtai.identity.person import person_keys

        store, config = identity(request, name, access)
        keys = person_keys(store, lake, config, person_id)
        found = decisions_about(store, config.entity, person_id, keys, limit)
        shown = [
            decision_view(r, access.engine, access.principal)
            for r in found
            if access.allows(r.capability, KIND)
        ]
        return {"person_id": person_id, "decisions": shown}
