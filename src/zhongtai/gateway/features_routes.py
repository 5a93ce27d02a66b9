"""`POST /v1/features/online`: the latest values of online feature views for a few entities, as JSON.

For systems that want the features themselves rather than a decision. Lean like the decide route: the policy
check is in memory (`read_features` on every view asked), the views served online are known in memory (read from the metadata store on first use,
every 30 s, and when a name is not known, at most once a second, so a view applied after start works without
a database hit per request), and the handler does one online read per entity (all views in one round trip).
A caller the policy does not let `see_pii` a class on a view gets that class masked in the view's text
values (and in integers that are phone, ID or card numbers), span by span (govern/masking.py); for a
caller who sees every class the values go out as read, untouched.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from zhongtai.errors import ZhongtaiError
from zhongtai.features.keys import checked_entity_key
from zhongtai.gateway.authz import Access, allow
from zhongtai.gateway.json_body import FeatureJSONResponse
from zhongtai.gateway.openapi import EXAMPLE_PERSONS, EXAMPLE_VIEWS, SECURED, errors
from zhongtai.govern.masking import disclosure, mask_json
from zhongtai.spec.models import EntitySpec

if TYPE_CHECKING:
    from zhongtai.gateway.app import Gateway
    from zhongtai.meta.store import MetadataStore

MAX_ENTITIES = 100
MAX_VIEWS = 20
_FIELDS = {"entities", "views"}
_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["entities", "views"],
                "additionalProperties": False,
                "properties": {
                    "entities": {
                        "type": "array",
                        "minItems": 1,
                        "maxItems": MAX_ENTITIES,
                        "description": "Entity keys: a value, or a list of join-key values",
                    },
                    "views": {
                        "type": "array",
                        "minItems": 1,
                        "maxItems": MAX_VIEWS,
                        "uniqueItems": True,
                        "items": {"type": "string"},
                    },
                },
            },
            "example": {"entities": EXAMPLE_PERSONS, "views": EXAMPLE_VIEWS},
        }
    },
}


class OnlineViews:
    """Which feature views are served online, and the entity each describes: {view: (entity, join keys)}."""

    def __init__(self, store: MetadataStore, min_reload_s: float = 1.0, max_age_s: float = 30.0) -> None:
        self.store = store
        self._min_reload_s = min_reload_s
        self._max_age_s = max_age_s
        self._lock = threading.Lock()
        self._views: dict[str, EntitySpec] = {}
        self._offline_only: set[str] = set()
        self._loaded_at = -float("inf")

    def resolve(self, names: list[str]) -> EntitySpec:
        """The entity the named views describe; not_found / invalid_argument name the view at fault."""
        # An unknown name may be a view applied since; a view removed or taken offline is noticed within max_age.
        stale = time.monotonic() - self._loaded_at > self._max_age_s
        if stale or any(name not in self._views for name in names):
            self._reload()
        for name in names:
            if name in self._offline_only:
                raise ZhongtaiError(
                    "invalid_argument", f"feature view '{name}' is offline only (online: false)"
                )
            if name not in self._views:
                raise ZhongtaiError(
                    "not_found",
                    f"no feature view named '{name}' is served online",
                    "zhongtai features list shows the views",
                )
        entities = {self._views[name].name for name in names}
        if len(entities) > 1:
            described = ", ".join(f"{n} ({self._views[n].name})" for n in names)
            raise ZhongtaiError(
                "invalid_argument",
                f"views {described} describe different entities",
                "ask for views of one entity per request",
            )
        return self._views[names[0]]

    def _reload(self) -> None:
        with self._lock:
            if time.monotonic() - self._loaded_at < self._min_reload_s:
                return
            entities = self.store.registered("entities")
            views: dict[str, EntitySpec] = {}
            offline: set[str] = set()
            for name, spec in self.store.registered("feature_views").items():
                if not spec.get("online", True):
                    offline.add(name)
                elif spec["entity"] in entities:
                    views[name] = EntitySpec.model_validate(entities[spec["entity"]])
            self._views, self._offline_only = views, offline
            self._loaded_at = time.monotonic()


def add_feature_routes(app: FastAPI, json_object: Callable[[Request], Awaitable[dict[str, Any]]]) -> None:
    """Mount `POST /v1/features/online` (`read_features` on every view asked)."""
    held: list[OnlineViews] = []

    def online_views(gateway: Gateway) -> OnlineViews:
        # One per metadata store: the app's lifespan opens a new gateway (and store) on each start.
        if not held or held[0].store is not gateway.store:
            held[:] = [OnlineViews(gateway.store)]
        return held[0]

    # async and inline, as decide: an online read is a local call on SQLite, one round trip on Redis.
    @app.post(
        "/v1/features/online",
        tags=["features"],
        responses=errors(400, 401, 403, 404, 413, 422, 429),
        openapi_extra={**SECURED, "requestBody": _BODY},
    )
    async def read_online(
        request: Request, access: Annotated[Access, allow("read_features")]
    ) -> JSONResponse:
        """The latest values of `views` for each of `entities` (a key, or a list of join-key values)."""
        gateway: Gateway = request.app.state.gateway
        body = await json_object(request)
        views = _views_of(body)
        for view in views:
            access.require(view, "feature_views")
        keys = _keys_of(body, online_views(gateway).resolve(views))
        read = gateway.online.read
        found = [read(key, views) for key in keys]
        engine, principal = access.engine, access.principal
        seen_on = [(view, disclosure(engine, principal, view, "feature_views")) for view in views]
        masked = [(view, seen) for view, seen in seen_on if seen.masks_any]
        for values in found if masked else ():
            for view, seen in masked:
                values[view] = mask_json(values[view], seen)
        results = [{"entity": key, "values": values} for key, values in zip(keys, found, strict=True)]
        return FeatureJSONResponse({"results": results})


def _views_of(body: dict[str, Any]) -> list[str]:
    unknown = sorted(set(body) - _FIELDS)
    if unknown:
        raise ZhongtaiError(
            "invalid_argument",
            f"unknown field(s) {', '.join(unknown)}",
            'send {"entities": [...], "views": [...]}',
        )
    views = body.get("views")
    if not isinstance(views, list) or not views or not all(isinstance(v, str) for v in views):
        raise ZhongtaiError(
            "invalid_argument", "field 'views' must be a non-empty list of feature view names", None
        )
    if len(views) > MAX_VIEWS or len(set(views)) != len(views):
        raise ZhongtaiError(
            "invalid_argument", f"field 'views' must name at most {MAX_VIEWS} distinct views", None
        )
    return views


def _keys_of(body: dict[str, Any], entity: EntitySpec) -> list[str]:
    entities = body.get("entities")
    hint = (
        f"an entity key is a value of {entity.join_keys[0]}"
        if len(entity.join_keys) == 1
        else f"an entity key is a list of values of {', '.join(entity.join_keys)}"
    )
    if not isinstance(entities, list) or not entities or len(entities) > MAX_ENTITIES:
        raise ZhongtaiError(
            "invalid_argument", f"field 'entities' must be a list of 1 to {MAX_ENTITIES} entity keys", hint
        )
    types = entity.join_key_types()
    return [
        checked_entity_key(value, f"entities[{index}]", entity.join_keys, types, hint)
        for index, value in enumerate(entities)
    ]
