"""OneID over HTTP: a person's golden record and why two records are (or are not) one person.

Both read the identity's golden dataset, so both are `read_dataset` on it; what they quote (golden fields,
shared keys) is masked by class for a caller the policy does not let `see_pii` there (govern/masking.py),
exactly as `zhongtai oneid person` / `oneid explain` do for the CLI's principal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from fastapi import FastAPI, Query, Request

from zhongtai.gateway.authz import Access, allow
from zhongtai.gateway.openapi import SECURED, errors
from zhongtai.govern.masking import disclosure, field_classes

if TYPE_CHECKING:
    from zhongtai.config import Settings
    from zhongtai.identity.config import OneIDConfig
    from zhongtai.meta.store import MetadataStore

_ERRORS = errors(401, 403, 404, 422, 429)


def add_oneid_routes(app: FastAPI, settings: Settings) -> None:
    """Mount the OneID read endpoints (plain `def`: they read the lake and the metadata store)."""
    from zhongtai.lake.storage import LakeStorage

    lake = LakeStorage(settings.lake_url)

    def identity(request: Request, name: str, access: Access) -> tuple[MetadataStore, OneIDConfig]:
        from zhongtai.identity.run import identity_spec

        store: MetadataStore = request.app.state.gateway.store
        config = identity_spec(store, name)
        access.require(config.golden_dataset, "datasets")
        return store, config

    @app.get("/v1/oneid/{name}/persons/{person_id}", tags=["oneid"], responses=_ERRORS, openapi_extra=SECURED)
    def oneid_person(
        request: Request, name: str, person_id: str, access: Annotated[Access, allow("read_dataset")]
    ) -> dict[str, Any]:
        """A person's golden record and the ids of its source records, as the caller may see them."""
        from zhongtai.identity.golden import person_record

        store, config = identity(request, name, access)
        seen = disclosure(access.engine, access.principal, config.golden_dataset, "datasets")
        classes = field_classes(store.fields(config.golden_dataset))
        return person_record(store, lake, config, person_id, classes, seen)

    @app.get("/v1/oneid/{name}/explain", tags=["oneid"], responses=_ERRORS, openapi_extra=SECURED)
    def oneid_explain(
        request: Request,
        name: str,
        access: Annotated[Access, allow("read_dataset")],
        a: Annotated[str, Query(description="A record id, <dataset>:<key>")],
        b: Annotated[str, Query(description="Another record id")],
    ) -> dict[str, Any]:
        """Why records `a` and `b` are (or are not) one person, shared keys masked for the caller."""
        from zhongtai.identity.explain import explain, masked
        from zhongtai.identity.run import current_run

        store, config = identity(request, name, access)
        found = explain(lake, current_run(store, config.name).location, a, b)
        return masked(found, disclosure(access.engine, access.principal, config.golden_dataset, "datasets"))
