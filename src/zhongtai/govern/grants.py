"""Grants from any channel: one `policies` spec document planned against the policies in force and applied
in one transaction with its audit record, the same whether the CLI holds the store or the gateway does.

A document declares whole policies (`policies: [...]`, the spec kind's own YAML). Each one it names is
created or replaced; policies it does not name stay as they are (removing one is a project `apply`). A
document after which an admin could no longer manage grants (a deny rule naming the admin role) is refused
before anything is written: no one could undo it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import Field, ValidationError

from zhongtai.errors import ErrorCode, ZhongtaiError
from zhongtai.govern.audit import LOCAL_ADMIN
from zhongtai.govern.policy import lockout, specs_of
from zhongtai.spec.base import Spec
from zhongtai.spec.policy import PolicySpec
from zhongtai.spec.yaml_lines import line_of, load_with_lines

if TYPE_CHECKING:
    from zhongtai.meta.store import MetadataStore
    from zhongtai.spec.plan import Plan

MAX_DOCUMENT_CHARS = 1_000_000  # a policy document is a page of rules, not a data file


class PoliciesDocument(Spec):
    """A YAML document holding only policies."""

    policies: list[PolicySpec] = Field(min_length=1, description="The policies to create or replace.")


def read_document(text: str, source: str) -> tuple[list[PolicySpec], dict[tuple[Any, ...], int]]:
    """The policies a document declares, with the line of every key; errors name `source:line field`."""
    if len(text) > MAX_DOCUMENT_CHARS:
        raise ZhongtaiError(
            ErrorCode.INVALID_SPEC,
            f"{source}: a policy document holds at most {MAX_DOCUMENT_CHARS:,} characters",
            "split the policies over several documents",
        )
    data, lines = load_with_lines(text, source)
    if not isinstance(data, dict):
        raise ZhongtaiError(
            ErrorCode.INVALID_SPEC,
            f"{source}:1: expected a mapping with the key `policies`",
            "write `policies:` and a list of policies (docs/governance.md)",
        )
    try:
        document = PoliciesDocument.model_validate(data)
    except ValidationError as exc:
        problems = [_problem(source, data, lines, error) for error in exc.errors()]
        raise ZhongtaiError(
            ErrorCode.INVALID_SPEC, "\n".join(problems), "fix the lines above; nothing was changed"
        ) from None
    names = [p.name for p in document.policies]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        line = lines.get(("policies", len(names) - 1 - names[::-1].index(twice[0])), 1)
        raise ZhongtaiError(ErrorCode.INVALID_SPEC, f"{source}:{line} policies.{twice[0]}: declared twice")
    return document.policies, lines


def _problem(source: str, data: Any, lines: Mapping[tuple[Any, ...], int], error: Mapping[str, Any]) -> str:
    """One validation error as `source:line dotted.path: reason` (list items named by their `name`)."""
    found: list[Any] = []
    shown: list[str] = []
    node = data
    for part in error["loc"]:
        inside = isinstance(node, dict) and part in node
        inside |= isinstance(node, list) and isinstance(part, int) and part < len(node)
        if inside:
            node = node[part]
        else:
            shown.append(str(part))
            continue
        found.append(part)
        named = node.get("name") if isinstance(node, dict) and isinstance(part, int) else None
        shown.append(str(named) if named is not None else str(part))
    line = line_of(dict(lines), tuple(found)) or 1
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = "unknown key"
    elif error["type"] == "missing":
        message = "required key is missing"
    return f"{source}:{line} {'.'.join(shown) or '(top)'}: {message}"


def plan_policies(store: MetadataStore, text: str, source: str) -> Plan:
    """What applying the document would create or change (nothing else), refused with `conflict` when the
    policies in force with the document's would leave no admin able to manage grants."""
    from zhongtai.spec.plan import Plan, build_plan
    from zhongtai.spec.project import Project

    policies, lines = read_document(text, source)
    declared = {p.name: p for p in policies}
    in_force = {p.name: p for p in specs_of(store)}
    denied = lockout({**in_force, **declared}.values())
    if denied is not None:
        policy, _, rule = denied.rule.partition(".")
        where = source if policy in declared else f"policy '{policy}' in force"
        if policy in declared:
            index = list(declared).index(policy)
            rules = [r.name for r in declared[policy].rules]
            where += f":{line_of(dict(lines), ('policies', index, 'rules', rules.index(rule))) or 1}"
        raise ZhongtaiError(
            ErrorCode.CONFLICT,
            f"{where} policies.{policy}.rules.{rule}: denies manage_grants to the admin role, so no principal "
            "could change policies again; nothing was changed",
            "narrow the rule's principals or actions",
        )
    # The project planner diffs every kind; a document speaks for its own policies only.
    project = Project(root=Path(source), policies=declared)
    steps = build_plan(project, store).steps
    return Plan(tuple(s for s in steps if s.kind == "policies" and s.name in declared))


def apply_policies(
    store: MetadataStore, text: str, source: str, principal: str, rule: str = LOCAL_ADMIN
) -> Plan:
    """Plan the document and apply that plan in one transaction, audited as done by `principal` under
    `rule`; the plan applied is returned (empty when the policies in force already match)."""
    from zhongtai.spec.plan import apply_plan

    plan = plan_policies(store, text, source)
    if not plan.empty:
        apply_plan(plan, store, principal, rule=rule)
    return plan


def policies_document(store: MetadataStore) -> tuple[list[dict[str, Any]], str]:
    """The policies in force, as stored, and as one `policies` document: the text to edit and apply again
    (its plan shows no change until it is edited)."""
    import yaml

    payloads = [payload for _, payload in sorted(store.registered("policies").items())]
    text = yaml.safe_dump({"policies": payloads}, sort_keys=False, allow_unicode=True) if payloads else ""
    return payloads, text
