"""The spec reference, generated from the spec models: each kind's JSON Schema and one Markdown page of keys.

The models (spec/models.py and the modules it imports) are the only source of truth: every key, its type,
whether it is required, its default, its allowed values and its description come from the JSON Schema
pydantic derives from them, and the YAML example of each kind from spec/examples.py. docs/specs-reference.md
is `reference_markdown()` checked in; a test regenerates it, so the page cannot drift from the models.
The output depends on nothing but the models and the examples (no dates, no paths), so regenerating an
unchanged tree gives the same bytes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from zhongtai.errors import ZhongtaiError

REGENERATE = "zhongtai spec reference --out docs/specs-reference.md"
Schema = dict[str, Any]


@dataclass(frozen=True)
class KeyRow:
    """One key of a kind: its dotted path (`fields[].checks[].range.min`) and what the schema says of it."""

    path: str
    type: str
    required: bool
    default: str
    allowed: str
    description: str


def spec_kinds() -> list[str]:
    """The kinds a project file may hold, in the order of a project file (`sources`, `datasets`...)."""
    from zhongtai.spec.models import SPEC_MODELS

    return list(SPEC_MODELS)


def kind_schema(kind: str) -> Schema:
    """The JSON Schema (validation mode, YAML key names) of one object of `kind`."""
    from pydantic import TypeAdapter

    from zhongtai.spec.models import SPEC_MODELS

    schema: Schema = TypeAdapter(SPEC_MODELS[resolve_kind(kind)]).json_schema(
        by_alias=True, mode="validation"
    )
    return schema


def resolve_kind(name: str) -> str:
    """The kind a person means: its top-level key (`feature_views`) or its noun (`feature-view`, `identity`)."""
    from zhongtai.spec.models import SPEC_MODELS

    wanted = name.strip().lower().replace("-", "_").replace(" ", "_")
    for kind in SPEC_MODELS:
        noun = kind[:-3] + "y" if kind.endswith("ies") else kind[:-1]
        if wanted in (kind, noun):
            return kind
    raise ZhongtaiError(
        "invalid_argument",
        f"unknown spec kind '{name}'",
        f"give one of: {', '.join(SPEC_MODELS)} (`zhongtai spec schema` lists them)",
    )


def kind_summary(kind: str) -> str:
    """The first line of what an object of `kind` is (its model's docstring)."""
    schema = kind_schema(kind)
    if "oneOf" in schema:
        types = [_const_type(_resolve(part, schema)) for part in schema["oneOf"]]
        return f"A connection to an existing system; `type` is one of {', '.join(types)}."
    return _first_line(_resolve(schema, schema).get("description", ""))


@dataclass(frozen=True)
class Variant:
    """The keys of one form of a kind: the whole kind, or one `type` of a union such as sources."""

    title: str | None  # `type: sql` for a member of a union, None for a plain kind
    summary: str
    rows: list[KeyRow]


def key_rows(kind: str) -> list[Variant]:
    """The keys of `kind`: one variant, or one per `type` of a union (sources)."""
    schema = kind_schema(kind)
    if "oneOf" in schema:
        return [
            Variant(
                f"type: {_const_type(variant)}",
                _first_line(variant.get("description", "")),
                _rows(variant, schema, ""),
            )
            for variant in (_resolve(part, schema) for part in schema["oneOf"])
        ]
    return [Variant(None, "", _rows(_resolve(schema, schema), schema, ""))]


def reference_markdown() -> str:
    """The whole reference page: per kind, its keys as a table and a complete YAML example."""
    from zhongtai.spec.examples import EXAMPLES

    kinds = spec_kinds()
    out = [
        "# Spec reference",
        "",
        f"Generated from the spec models by `{REGENERATE}`; do not edit by hand. "
        "How a project folder works, and what each kind is for: [project specs](specs.md).",
        "",
        "Every kind is a top-level list of a project file. Unknown keys are errors. Nested keys are shown "
        "with dotted paths; `[]` marks a list of mappings (`fields[].checks[].range.min`). "
        "`zhongtai spec schema KIND` prints a kind's JSON Schema.",
        "",
        " · ".join(f"[{kind}](#{kind})" for kind in kinds),
        "",
    ]
    for kind in kinds:
        if kind not in EXAMPLES:
            raise ZhongtaiError(
                "invalid_spec",
                f"spec kind '{kind}' has no example in src/zhongtai/spec/examples.py",
                "add a complete YAML example of the kind to EXAMPLES",
            )
        out += [f"## {kind}", "", kind_summary(kind), ""]
        for variant in key_rows(kind):
            if variant.title is not None:
                out += [f"### `{variant.title}`", "", variant.summary, ""]
            out += _table(variant.rows)
        out += ["Example:", "", "```yaml", EXAMPLES[kind].rstrip("\n"), "```", ""]
    return "\n".join(out)


def _table(rows: list[KeyRow]) -> list[str]:
    lines = ["| key | type | required / default | allowed | description |", "| --- | --- | --- | --- | --- |"]
    for row in rows:
        needed = "**required**" if row.required else row.default
        cells = [f"`{row.path}`", row.type, needed, row.allowed, row.description]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return [*lines, ""]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _rows(model: Schema, root: Schema, prefix: str) -> list[KeyRow]:
    """Rows of a model's keys, then (right below each) the keys of the mapping or list of mappings it holds."""
    rows = []
    required = set(model.get("required", []))
    for key, prop in model.get("properties", {}).items():
        path = prefix + key
        rows.append(
            KeyRow(
                path=path,
                type=_type(prop, root),
                required=key in required,
                default="" if key in required else _default(prop),
                allowed=_allowed(prop, root),
                description=_description(prop, root),
            )
        )
        nested, is_list = _nested_model(prop, root)
        if nested is not None:
            rows += _rows(nested, root, path + ("[]." if is_list else "."))
    return rows


def _resolve(node: Schema, root: Schema) -> Schema:
    ref = node.get("$ref")
    if ref is None:
        return node
    resolved: Schema = root["$defs"][ref.rsplit("/", 1)[-1]]
    return resolved


def _parts(prop: Schema) -> tuple[list[Schema], bool]:
    """The alternatives of a property without `null`, and whether `null` is one of them."""
    options = prop.get("anyOf") or prop.get("oneOf") or [prop]
    kept = [o for o in options if o.get("type") != "null"]
    return kept, len(kept) < len(options)


def _nested_model(prop: Schema, root: Schema) -> tuple[Schema | None, bool]:
    """The model a property holds (`incremental`), or holds a list of (`fields`); None for anything else."""
    parts, _ = _parts(prop)
    if len(parts) != 1:
        return None, False
    part = parts[0]
    is_list = part.get("type") == "array" and "$ref" in part.get("items", {})
    target = _resolve(part["items"] if is_list else part, root)
    return (target, is_list) if "properties" in target else (None, False)


def _type(prop: Schema, root: Schema) -> str:
    parts, nullable = _parts(prop)
    names = list(dict.fromkeys(_type_name(part, root) for part in parts))
    shown = " or ".join(names)
    if nullable and prop.get("default", "") is not None:
        shown += " or null"
    return shown


def _type_name(part: Schema, root: Schema) -> str:
    if "anyOf" in part or "oneOf" in part:
        return _type(part, root)
    part = _resolve(part, root)
    kind = part.get("type")
    if kind == "array":
        return f"list of {_plural(_type_name(part.get('items', {}), root))}"
    if kind == "object" or "properties" in part:
        values = part.get("additionalProperties")
        if not isinstance(values, dict) and part.get("patternProperties"):
            values = next(iter(part["patternProperties"].values()))
        if isinstance(values, dict) and "properties" not in part:
            return f"mapping of string to {_type_name(values, root)}"
        return "mapping"
    if "const" in part:
        return "string"
    return {"integer": "integer", "number": "number", "boolean": "boolean", "string": "string"}.get(
        str(kind), "any"
    )


def _plural(name: str) -> str:
    if name.startswith(("list of", "mapping of")):
        return name
    return " or ".join(f"{word}s" for word in name.split(" or "))


def _default(prop: Schema) -> str:
    if "default" not in prop:
        return ""
    return f"`{json.dumps(prop['default'], ensure_ascii=False)}`"


def _allowed(prop: Schema, root: Schema) -> str:
    """Enumerated values, patterns and bounds of a property and of its list items or alternatives."""
    found: list[str] = []
    parts, _ = _parts(prop)
    for part in parts:
        part = _resolve(part, root) if "properties" not in part else part
        found += _constraints(part)
        items = part.get("items")
        if isinstance(items, dict):
            found += [f"each: {c}" for c in _constraints(_resolve(items, root))]
        keys = part.get("propertyNames", {}).get("enum")
        if keys:
            found.append("keys: " + ", ".join(f"`{k}`" for k in keys))
        found += [f"keys: pattern `{pattern}`" for pattern in part.get("patternProperties", {})]
    return "; ".join(dict.fromkeys(found))


_BOUNDS = (
    ("minimum", ">= {}"),
    ("exclusiveMinimum", "> {}"),
    ("maximum", "<= {}"),
    ("exclusiveMaximum", "< {}"),
    ("minItems", "at least {} item(s)"),
    ("minLength", "at least {} character(s)"),
    ("maxLength", "at most {} character(s)"),
)


def _constraints(part: Schema) -> list[str]:
    found = []
    if "enum" in part:
        found.append(", ".join(f"`{value}`" for value in part["enum"]))
    if "const" in part:
        found.append(f"`{part['const']}`")
    if "pattern" in part:
        found.append(f"pattern `{part['pattern']}`")
    found += [text.format(part[key]) for key, text in _BOUNDS if key in part]
    return found


def _description(prop: Schema, root: Schema) -> str:
    text = prop.get("description")
    if not text:
        nested, _ = _nested_model(prop, root)
        text = (nested or {}).get("description", "")
    return _first_line(text)


def _first_line(text: str) -> str:
    """A docstring's first paragraph, on one line."""
    return " ".join(text.strip().split("\n\n", 1)[0].split())


def _const_type(variant: Schema) -> str:
    return str(variant["properties"]["type"].get("const", ""))
