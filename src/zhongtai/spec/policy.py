"""The `policies` spec kind: default-deny access rules, department workspaces and rate limits.

A policy is reviewed like any spec (plan, apply) and compiled into memory by `govern/policy.py`. Nothing is
allowed unless a rule allows it; a `deny` rule wins over every `allow`; the built-in role `admin` may do
everything no `deny` rule takes away. Principals are named `role:NAME`, `workspace:NAME`, `key:NAME` (an API
key), `sub:NAME` (an OIDC subject) or `*` (anyone authenticated). Objects are a capability, dataset, feature
view, feature group or model name, `workspace:NAME` (every object that workspace holds) or `*`.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from zhongtai.spec.base import Description, Name, Owner, Spec

ACTIONS = (
    "call",
    "read_dataset",
    "read_features",
    "push_features",
    "see_explanation",
    "train",
    "submit",
    "approve",
    "promote",
    "change_traffic",
    "manage_keys",
    "manage_grants",
    "apply_specs",
    "read_audit",
    "read_catalog",
    "read_models",
    "review",
)
PII_CLASSES = ("phone", "id_card", "email", "name", "address", "bank_card")
PII_ACTION = "see_pii"
PRINCIPAL_KINDS = ("role", "workspace", "key", "sub")
_PRINCIPAL = re.compile(r"^(\*|(role|workspace|key|sub):[A-Za-z0-9][A-Za-z0-9_.@:-]{0,127})$")
_OBJECT = re.compile(r"^(\*|(workspace:)?[A-Za-z][A-Za-z0-9_-]{0,127})$")
# A workspace member may be a pattern (`crm_*`): shell-style, over the object names of one kind.
_MEMBER = re.compile(r"^[A-Za-z*?][A-Za-z0-9_*?\[\]-]{0,127}$")
WORKSPACE_KINDS = ("capabilities", "datasets", "feature_views", "feature_groups", "models")


def check_action(value: str) -> str:
    """An action as rules name it: one of ACTIONS, `see_pii:CLASS`, `see_pii:*` or `*`."""
    if value == "*" or value in ACTIONS:
        return value
    head, _, pii = value.partition(":")
    if head == PII_ACTION and (pii in PII_CLASSES or pii == "*"):
        return value
    raise ValueError(
        f"unknown action '{value}': give one of {', '.join(ACTIONS)}, "
        f"see_pii:<{'|'.join(PII_CLASSES)}|*> or *"
    )


def _matching(pattern: re.Pattern[str], what: str) -> AfterValidator:
    def check(value: str) -> str:
        if not pattern.match(value):
            raise ValueError(f"'{value}' is not {what}")
        return value

    return AfterValidator(check)


PrincipalRef = Annotated[
    str, _matching(_PRINCIPAL, "a principal: role:NAME, workspace:NAME, key:NAME, sub:NAME or *")
]
ObjectRef = Annotated[str, _matching(_OBJECT, "an object: a name, workspace:NAME or *")]
Member = Annotated[str, _matching(_MEMBER, "an object name or pattern")]
Action = Annotated[str, AfterValidator(lambda value: check_action(value))]


class RuleSpec(Spec):
    """Who may (or, with `effect: deny`, may not) do what to which objects."""

    name: Name = Field(description="The rule's name: every allow and deny it decides names it.")
    principals: list[PrincipalRef] = Field(
        min_length=1,
        description="Who the rule is about: `role:NAME`, `workspace:NAME`, `key:NAME`, `sub:NAME` or `*`.",
    )
    actions: list[Action] = Field(
        min_length=1,
        description="What they may do: call, read_dataset, read_features, push_features, see_pii:CLASS, "
        "see_explanation, train, submit, approve, promote, change_traffic, manage_keys, manage_grants, "
        "apply_specs (plan and apply spec documents over the API), read_audit, read_catalog, read_models, "
        "review (work a capability's review queue), or `*`.",
    )
    objects: list[ObjectRef] = Field(
        default=["*"],
        min_length=1,
        description="To what: object names, `workspace:NAME` (all it holds) or `*` (everything).",
    )
    effect: Literal["allow", "deny"] = Field(
        default="allow", description="`deny` wins over every allow, the built-in admin's included."
    )
    description: Description = ""


class WorkspaceSpec(Spec):
    """A department's objects: another workspace sees them only through a rule that grants it."""

    name: Name = Field(description="The workspace (department): `workspace:NAME` in rules and on keys.")
    capabilities: list[Member] = Field(default=[], description="Capability names (or patterns like `crm_*`).")
    datasets: list[Member] = Field(default=[], description="Dataset names or patterns.")
    feature_views: list[Member] = Field(default=[], description="Feature view names or patterns.")
    feature_groups: list[Member] = Field(default=[], description="Feature group names or patterns.")
    models: list[Member] = Field(default=[], description="Model names or patterns.")
    description: Description = ""


class LimitSpec(Spec):
    """A token bucket: `per_minute` calls on average, bursts of up to `burst`."""

    name: Name = Field(description="The limit's name: a 429 names it.")
    principals: list[PrincipalRef] = Field(
        min_length=1,
        description="Whom it limits: `role:NAME`, `workspace:NAME`, `key:NAME`, `sub:NAME` or `*`.",
    )
    per_minute: float = Field(gt=0, description="Requests per minute, refilled continuously.")
    burst: int | None = Field(
        default=None, ge=1, description="Requests allowed at once (default: one minute's worth)."
    )
    shared_by: Literal["key", "workspace"] = Field(
        default="key",
        description="`key`: one bucket per principal; `workspace`: one bucket the whole workspace shares.",
    )


class PolicySpec(Spec):
    """Access rules, workspaces and rate limits; every policy of the project is one default-deny table."""

    name: Name = Field(description="The policy's name; a rule is named `POLICY.RULE` in every verdict.")
    rules: list[RuleSpec] = Field(default=[], description="Allow and deny rules.")
    workspaces: list[WorkspaceSpec] = Field(default=[], description="Which objects each department holds.")
    limits: list[LimitSpec] = Field(default=[], description="Rate limits (token buckets), 429 when empty.")
    description: Description = ""
    owner: Owner = None

    @model_validator(mode="after")
    def _unique_names(self) -> PolicySpec:
        for what, items in (("rule", self.rules), ("workspace", self.workspaces), ("limit", self.limits)):
            names = [item.name for item in items]
            twice = sorted({n for n in names if names.count(n) > 1})
            if twice:
                raise ValueError(f"{what} '{twice[0]}' is declared twice in policy '{self.name}'")
        return self
