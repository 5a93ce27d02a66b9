"""The gateway's OpenAPI document: what it serves now, stated exactly as the handlers enforce it.

Routes declare their error statuses (`errors(...)`, every one with the {code, message, hint} body) and
whether they need a key (`SECURED`). `document()` then builds the document per request from what is loaded:
one decide path per capability with its input field typed as `checked_entity_key` accepts it and its answer
typed from its spec (decision values from its score bands, the output fields its runtime declares), the same
per capability for the batch decide and the decision node (its job's `inputs`), and the body of the online read as one alternative per entity, naming that entity's online views. A request the document
calls valid is answered (2xx, or 404 for a name that is not there); one it calls invalid is a 4xx. The
property-based test (tests/gateway/test_schemathesis.py) holds both directions.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, Field

from zhongtai.capabilities.runtime import CapabilityRuntime
from zhongtai.errors import ErrorCode
from zhongtai.features.keys import key_schema
from zhongtai.features.push import rows_schema
from zhongtai.spec.models import EntitySpec, FeatureViewSpec, KeyType

if TYPE_CHECKING:
    from zhongtai.capabilities.runtime import Runtime
    from zhongtai.gateway.request_body import BodyLimits
    from zhongtai.meta.store import MetadataStore

DECIDE_PATH = "/v1/capabilities/{name}/decide"
BATCH_PATH = "/v1/capabilities/{name}/decide/batch"
ONLINE_PATH = "/v1/features/online"
PUSH_PATH = "/v1/features/{view}/push"
NODE_PATH = "/v1/capabilities/{name}/node"
# Examples that answer on the retail demo (`zhongtai demo`): a CRM customer, a store, two persons (OneID) and their
# online views, a product of the clickstream window view.
EXAMPLE_CUSTOMER = 100005
EXAMPLE_STORE = 107
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
# Both decide routes take it; its rules are gateway/idempotency.py's.
IDEMPOTENCY_PARAMETER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Any unique string (a UUID) per request, sent again unchanged with each retry: the retry "
    "gets the first answer (same decision_id) and the decision is logged once. Kept ZT_IDEMPOTENCY_TTL "
    "seconds (default 24 h); the same key with another body or route is a 409.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"},
}
REPLAYED_HEADER = {
    "Idempotent-Replayed": {
        "description": "Present when this is the kept answer of an earlier request with the same Idempotency-Key",
        "schema": {"type": "string", "enum": ["true"]},
    }
}
SECURED: dict[str, Any] = {"security": [{"bearerAuth": []}, {"apiKeyHeader": []}]}
SECURITY_SCHEMES = {
    "bearerAuth": {
        "type": "http",
        "scheme": "bearer",
        "description": "An API key made by `zhongtai keys create`, or an OIDC token, as `Authorization: Bearer`.",
    },
    "apiKeyHeader": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
}
_MEANING = {
    400: "The body is not strict JSON (UTF-8, no NaN or Infinity, no lone surrogates)",
    401: "The API key or bearer token is missing, unknown, expired or revoked",
    403: "No policy rule grants the caller this action on this object (the body names both and the rule)",
    404: "No such capability, feature view, catalog object, model, version or alias",
    409: "The step does not fit the current state (a version's status, an unapproved version, a lost race; "
    "an Idempotency-Key used before for another request)",
    413: "The body is larger than ZT_MAX_BODY_BYTES",
    422: "A field is missing or wrong, or the body nests or runs longer than the limits",
    429: "A rate limit of the caller's key or workspace is reached; Retry-After says when to try again",
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
    generic_batch = paths.pop(BATCH_PATH)["post"]
    generic_node = paths.pop(NODE_PATH)["post"]
    max_inputs: int = app.state.max_batch_inputs
    for runtime in gateway.capabilities.runtimes():
        request = _decide_request(runtime, limits.max_string_chars)
        answer = _answer_schema(runtime)
        paths[DECIDE_PATH.replace("{name}", runtime.name)] = {
            "post": _decide_operation(generic, runtime, request, answer)
        }
        paths[NODE_PATH.replace("{name}", runtime.name)] = {
            "post": _node_operation(generic_node, runtime, request)
        }
        paths[BATCH_PATH.replace("{name}", runtime.name)] = {
            "post": _batch_operation(generic_batch, runtime, request, answer, max_inputs)
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


def batch_body() -> dict[str, Any]:
    """The batch decide route's body before capabilities are loaded; `document` states it per capability."""
    return {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["inputs"],
                    "properties": {"inputs": {"type": "array", "minItems": 1, "items": {}}},
                    "additionalProperties": False,
                },
                "example": {"inputs": [{"customer_id": EXAMPLE_CUSTOMER}]},
            }
        },
    }


def _decide_request(runtime: Runtime, max_chars: int) -> dict[str, Any]:
    # Typed as the runtime checks it: the entity's declared key types, or a source dataset's key as a string.
    extra = _request_fields(runtime, max_chars)
    optional = _request_fields(runtime, max_chars, "optional_request_fields")
    return {
        "type": "object",
        "required": [runtime.input, *extra],
        "properties": {
            runtime.input: _entity_key_schema(runtime.input_key_types, max_chars),
            "context": {
                "type": "object",
                "description": "Anything the caller wants logged with the decision",
            },
            **optional,
            **extra,
        },
        "additionalProperties": True,
    }


def _request_fields(runtime: Runtime, max_chars: int, kind: str = "request_fields") -> dict[str, Any]:
    """Fields a task's runtime reads besides the key (a text capability's text, a recommender's store), as
    JSON schemas: the required ones, or with `kind="optional_request_fields"` those a request may leave out."""
    fields: dict[str, Any] = {}
    for arm_runtime in _arm_runtimes(runtime):
        fields.update(getattr(arm_runtime, kind, None) or {})
        if kind == "request_fields":
            keys = getattr(arm_runtime, "request_keys", None) or {}
            fields.update({name: _entity_key_schema((t,), max_chars) for name, t in keys.items()})
    return fields


def _example(runtime: Runtime) -> dict[str, Any]:
    keys = runtime.input_keys
    example: dict[str, Any] = {runtime.input: EXAMPLE_CUSTOMER if len(keys) == 1 else ["A100"] * len(keys)}
    for arm_runtime in _arm_runtimes(runtime):
        example |= {name: f"<{name}>" for name in getattr(arm_runtime, "request_fields", None) or {}}
        example |= {name: EXAMPLE_STORE for name in getattr(arm_runtime, "request_keys", None) or {}}
    return example


def _decide_operation(
    generic: dict[str, Any], runtime: Runtime, request: dict[str, Any], answer: dict[str, Any]
) -> dict[str, Any]:
    operation = {key: value for key, value in generic.items() if key != "parameters"}
    operation["operationId"] = f"decide_{runtime.name.replace('-', '_')}"
    operation["summary"] = f"Decide: {runtime.name}"
    operation["description"] = runtime.spec.description or generic.get("description", "")
    operation["parameters"] = [IDEMPOTENCY_PARAMETER]
    operation["requestBody"] = {
        "required": True,
        "content": {"application/json": {"schema": request, "example": _example(runtime)}},
    }
    operation["responses"] = {**generic["responses"], "200": _ok("The decision", answer)}
    return operation


def _node_operation(generic: dict[str, Any], runtime: Runtime, request: dict[str, Any]) -> dict[str, Any]:
    """The decision node of one capability: its job's `inputs` are that capability's decide body."""
    operation = {key: value for key, value in generic.items() if key != "parameters"}
    operation["operationId"] = f"decision_node_{runtime.name.replace('-', '_')}"
    operation["summary"] = f"Decision node: {runtime.name}"
    operation["requestBody"] = body = copy.deepcopy(generic["requestBody"])
    body["content"]["application/json"]["schema"]["properties"]["inputs"] = request
    return operation


def _batch_operation(
    generic: dict[str, Any],
    runtime: Runtime,
    request: dict[str, Any],
    answer: dict[str, Any],
    max_inputs: int,
) -> dict[str, Any]:
    operation = {key: value for key, value in generic.items() if key != "parameters"}
    operation["operationId"] = f"decide_batch_{runtime.name.replace('-', '_')}"
    operation["summary"] = f"Decide in batch: {runtime.name}"
    operation["parameters"] = [IDEMPOTENCY_PARAMETER]
    # An input the single decide would refuse is answered in its place with an error, the others decided:
    # so any value is a valid input here, and the typed body is the first alternative.
    item = {
        "anyOf": [
            request,
            {"description": "Anything else: answered in its place with an error, the other inputs decided"},
        ]
    }
    inputs = {"type": "array", "minItems": 1, "maxItems": max_inputs, "items": item}
    schema = {
        "type": "object",
        "required": ["inputs"],
        "properties": {"inputs": inputs},
        "additionalProperties": False,
    }
    example = {"inputs": [_example(runtime), _example(runtime)]}
    operation["requestBody"] = {
        "required": True,
        "content": {"application/json": {"schema": schema, "example": example}},
    }
    index = {"type": "integer", "minimum": 0, "description": "The position of the input in `inputs`"}
    decided = copy.deepcopy(answer)
    decided["required"] = ["index", *decided["required"]]
    decided["properties"] = {"index": index, **decided["properties"]}
    failed = {
        "type": "object",
        "required": ["index", "error"],
        "properties": {"index": index, "error": _ITEM_ERROR},
        "additionalProperties": False,
    }
    count = {"type": "integer", "minimum": 0}
    batch = {
        "type": "object",
        "required": ["capability", "results", "decided", "failed", "latency_ms"],
        "properties": {
            "capability": {"type": "string", "enum": [runtime.name]},
            "results": {
                "type": "array",
                "minItems": 1,
                "maxItems": max_inputs,
                "items": {"anyOf": [decided, failed]},
                "description": "One result per input, in the order of `inputs`",
            },
            "decided": {**count, "description": "How many inputs were decided (and logged)"},
            "failed": {**count, "description": "How many inputs have an error instead"},
            "latency_ms": {"type": "number", "description": "Time spent in the gateway on the batch"},
        },
    }
    operation["responses"] = {**generic["responses"], "200": _ok("One result per input", batch)}
    return operation


_NUMBER_OR_NULL = {"anyOf": [{"type": "number"}, {"type": "null"}]}
_ITEM_ERROR = {
    "type": "object",
    "required": ["code", "message"],
    "properties": {
        "code": {"$ref": "#/components/schemas/ErrorCode"},
        "message": {"type": "string"},
        "hint": {"type": "string"},
    },
    "additionalProperties": False,
}


def _answer_schema(runtime: Runtime) -> dict[str, Any]:
    """The decide answer of a capability, as far as its spec and runtime say what it holds."""
    spec = runtime.spec
    decision: dict[str, Any] = {"type": "string", "description": "The capability's answer"}
    # A tabular runtime answers a score band's decision, or the fallback's; other tasks answer their own.
    if spec.decisions and all(isinstance(r, CapabilityRuntime) for r in _arm_runtimes(runtime)):
        values = [rule.decision for rule in spec.ranked_decisions()] + [spec.fallback.decision]
        decision["enum"] = list(dict.fromkeys(values))
    factor = {
        "type": "object",
        "required": ["feature", "value", "contribution"],
        "properties": {
            "feature": {"type": "string"},
            "value": {"description": "The feature's value for this entity (null when missing)"},
            "contribution": {**_NUMBER_OR_NULL, "description": "Its SHAP contribution to the raw score"},
        },
    }
    properties: dict[str, Any] = {
        "decision_id": {"type": "string", "description": "The id of the decision in the decision log"},
        "capability": {"type": "string", "enum": [runtime.name]},
        "decision": decision,
        "score": {**_NUMBER_OR_NULL, "description": "The model's score (the fallback's score, if any)"},
        "factors": {
            "type": "array",
            "maxItems": spec.explain_top,
            "items": factor,
            "description": "The top contributing features, largest |contribution| first (none on a fallback)",
        },
        "model": {
            "type": "object",
            "required": ["name", "version"],
            "properties": {
                "name": {"type": "string"},
                "version": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
            },
        },
        "fallback": {"type": "boolean", "description": "True when the spec's fallback answered"},
        "fallback_reason": {
            "type": "string",
            "description": "Why the fallback answered (no_features, unknown_entity, model_error...)",
        },
        "arm": {"type": "string", "description": "The traffic arm that answered"},
        "latency_ms": {"type": "number", "description": "Time spent in the gateway"},
    }
    if spec.feature_groups:
        properties["features"] = {"type": "object", "description": "The capability's feature groups"}
    # A task's runtime may state the fields its answer adds (an intent's route, a forecast's interval).
    for arm_runtime in _arm_runtimes(runtime):
        properties.update(getattr(arm_runtime, "output_schema", None) or {})
    return {
        "type": "object",
        "required": [
            "decision_id",
            "capability",
            "decision",
            "score",
            "factors",
            "model",
            "fallback",
            "latency_ms",
        ],
        "properties": properties,
    }


def _arm_runtimes(runtime: Runtime) -> list[Runtime]:
    """The runtimes that may answer for a capability: each arm's under a traffic policy, or the one."""
    arms = getattr(runtime, "arms", None)
    return [arm_runtime for _, arm_runtime in arms] if arms is not None else [runtime]


def _ok(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "description": description,
        "headers": REPLAYED_HEADER,
        "content": {"application/json": {"schema": schema}},
    }


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
