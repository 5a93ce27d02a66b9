"""The gateway's OpenAPI document: what it serves now, stated exactly as the handlers enforce it.

Routes declare their error statuses (`errors(...)`, every one with the {code, message, hint} body) and
whether they need a key (`SECURED`). `document()` then builds the document per request from what is loaded:
one decide path per capability with its input field typed as `checked_entity_key` accepts it, and the body
of the online read as one alternative per entity, naming that entity's online views. A request the document
calls valid is answered (2xx, or 404 for a name that is not there); one it calls invalid is a 4xx. The
property-based test (tests/gateway/test_schemathesis.py) holds both directions.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, Field

from zhongtai.errors import ErrorCode
from zhongtai.features.keys import key_schema
from zhongtai.features.push import rows_schema
from zhongtai.spec.models import EntitySpec, FeatureViewSpec, KeyType

if TYPE_CHECKING:
    from zhongtai.capabilities.runtime import Runtime
    from zhongtai.gateway.request_body import BodyLimits
    from zhongtai.meta.store import MetadataStore

DECIDE_PATH = "/v1/capabilities/{name}/decide"
ONLINE_PATH = "/v1/features/online"
PUSH_PATH = "/v1/features/{view}/push"
# Examples that answer on the retail demo (`zhongtai demo`): a CRM customer, two persons (OneID) and their
# online views, a product of the clickstream window view.
EXAMPLE_CUSTOMER = 100005
EXAMPLE_PERSONS = ["P0000000001", "P0000000002"]
EXAMPLE_VIEWS = ["customer_orders", "customer_profile"]
EXAMPLE_PUSH = {
    "events": [
        {
            "event_id": "E1",
            "ts": "2026-12-02T10:00:00+08:00",
            "product_id": 10001,
            "user_id": "A100",
            "event_type": "view",
        }
    ]
}
SECURED: dict[str, Any] = {"security": [{"bearerAuth": []}, {"apiKeyHeader": []}]}
SECURITY_SCHEMES = {
    "bearerAuth": {
        "type": "http",
        "scheme": "bearer",
        "description": "An API key made by `zhongtai keys create`, as `Authorization: Bearer <key>`.",
    },
    "apiKeyHeader": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
}
_MEANING = {
    400: "The body is not strict JSON (UTF-8, no NaN or Infinity, no lone surrogates)",
    401: "The API key is missing, unknown or revoked",
    403: "The API key lacks the role this route needs",
    404: "No such capability, feature view, catalog object, model, version or alias",
    409: "The step does not fit the current state (a version's status, an unapproved version, a lost race)",
    413: "The body is larger than ZT_MAX_BODY_BYTES",
    422: "A field is missing or wrong, or the body nests or runs longer than the limits",
    503: "The gateway is still loading its capabilities",
}


class ErrorBody(BaseModel):
    """Every error the gateway answers: what went wrong and where, and what to do."""

    code: ErrorCode = Field(description="Stable error code; the HTTP status follows from it")
    message: str = Field(description="What is wrong and where (field, line, column); never a personal value")
    hint: str | None = Field(description="What to do about it")


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses` of a route answering these error statuses, each with the error body."""
    return {status: {"model": ErrorBody, "description": _MEANING[status]} for status in statuses}


def document(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document of the gateway as it is loaded now."""
    doc = get_openapi(
        title=app.title,
        version=app.version,
        summary=app.summary,
        description=app.description,
        routes=app.routes,
    )
    doc.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
    gateway = getattr(app.state, "gateway", None)
    if gateway is None:
        return doc
    limits: BodyLimits = app.state.body_limits
    paths = doc["paths"]
    generic = paths.pop(DECIDE_PATH)["post"]
    for runtime in gateway.capabilities.runtimes():
        paths[DECIDE_PATH.replace("{name}", runtime.name)] = {
            "post": _decide_operation(generic, runtime, limits.max_string_chars)
        }
    views = _online_views(gateway.store)
    generic_push = paths[PUSH_PATH]["post"]
    for view, entity in views:
        if view.windows is None:  # a window view takes raw events: only the generic path describes those
            paths[PUSH_PATH.replace("{view}", view.name)] = {
                "post": _push_operation(
                    generic_push, view, entity, limits.max_string_chars, gateway.push.max_items
                )
            }
    by_entity = _by_entity(views)
    if by_entity:
        body = paths[ONLINE_PATH]["post"]["requestBody"]["content"]["application/json"]
        generic = body["schema"]
        body["schema"] = {
            "anyOf": [_online_body(generic, e, v, limits.max_string_chars) for e, v in by_entity]
        }
    return doc


def decide_body() -> dict[str, Any]:
    """The decide route's body before capabilities are loaded; `document` states it per capability."""
    return {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"type": "object", "additionalProperties": True},
                "example": {"customer_id": EXAMPLE_CUSTOMER, "context": {"channel": "app"}},
            }
        },
    }


def _decide_operation(generic: dict[str, Any], runtime: Runtime, max_chars: int) -> dict[str, Any]:
    # Typed as the runtime checks it: the entity's declared key types, or a source dataset's key as a string.
    join_keys = runtime.input_keys
    key = _entity_key_schema(runtime.input_key_types, max_chars)
    key_fields = {
        runtime.input: key,
        "context": {"type": "object", "description": "Anything the caller wants logged with the decision"},
    }
    # Fields a task's runtime reads besides the key (a text capability's text), as JSON schemas.
    extra: dict[str, dict[str, Any]] = getattr(runtime, "request_fields", {})
    schema = {
        "type": "object",
        "required": [runtime.input, *extra],
        "properties": {**key_fields, **extra},
        "additionalProperties": True,
    }
    example: dict[str, Any] = {
        runtime.input: EXAMPLE_CUSTOMER if len(join_keys) == 1 else ["A100"] * len(join_keys),
        **{name: f"<{name}>" for name in extra},
    }
    operation = {key: value for key, value in generic.items() if key != "parameters"}
    operation["operationId"] = f"decide_{runtime.name.replace('-', '_')}"
    operation["summary"] = f"Decide: {runtime.name}"
    operation["description"] = runtime.spec.description or generic.get("description", "")
    operation["requestBody"] = {
        "required": True,
        "content": {"application/json": {"schema": schema, "example": example}},
    }
    return operation


def _entity_key_schema(types: tuple[KeyType, ...], max_chars: int) -> dict[str, Any]:
    parts = [key_schema(t, max_chars) for t in types]
    if len(parts) == 1:  # one value, or a list of that one value
        listed = {"type": "array", "minItems": 1, "maxItems": 1, "items": parts[0]}
        return {"anyOf": [parts[0], listed]}
    return {
        "type": "array",
        "minItems": len(parts),
        "maxItems": len(parts),
        "prefixItems": parts,
        "items": False,
    }


def _online_views(store: MetadataStore) -> list[tuple[FeatureViewSpec, EntitySpec]]:
    entities = store.registered("entities")
    return [
        (view, EntitySpec.model_validate(entities[view.entity]))
        for view in (
            FeatureViewSpec.model_validate(p) for _, p in sorted(store.registered("feature_views").items())
        )
        if view.online and view.entity in entities
    ]


def _by_entity(views: list[tuple[FeatureViewSpec, EntitySpec]]) -> list[tuple[EntitySpec, list[str]]]:
    grouped: dict[str, tuple[EntitySpec, list[str]]] = {}
    for view, entity in views:
        grouped.setdefault(entity.name, (entity, []))[1].append(view.name)
    return [grouped[name] for name in sorted(grouped)]


def _push_operation(
    generic: dict[str, Any], view: FeatureViewSpec, entity: EntitySpec, max_chars: int, max_items: int
) -> dict[str, Any]:
    operation = {key: value for key, value in generic.items() if key not in ("parameters", "requestBody")}
    operation["operationId"] = f"push_{view.name}"
    operation["summary"] = f"Push latest values: {view.name}"
    operation["description"] = (
        f"Replace the values of '{view.name}' for the entities in `rows`: every join key of "
        f"{entity.name} and every feature (null for none)."
    )
    schema = rows_schema(view, entity, max_chars, max_items)
    operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": schema}}}
    return operation


def _online_body(
    generic: dict[str, Any], entity: EntitySpec, views: list[str], max_chars: int
) -> dict[str, Any]:
    schema = copy.deepcopy(generic)
    properties = schema["properties"]
    properties["entities"]["items"] = _entity_key_schema(entity.join_key_types(), max_chars)
    properties["views"]["items"] = {"enum": views}
    properties["views"]["maxItems"] = min(properties["views"]["maxItems"], len(views))
    schema["title"] = f"entity {entity.name}"
    return schema
