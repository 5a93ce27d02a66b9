"""Plan: the difference between a project folder and the registry; apply: make them equal in one transaction.

The printed plan is the plan: `apply` executes exactly the frozen steps `build_plan` returned.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter, ValidationError

from zhongtai.meta.records import Change
from zhongtai.meta.store import KIND_ORDER, MetadataStore
from zhongtai.spec.evolution import feature_changes
from zhongtai.spec.identity import output_datasets
from zhongtai.spec.models import SPEC_MODELS, spec_payload
from zhongtai.spec.project import Project


@dataclass(frozen=True)
class FieldDiff:
    path: str
    old: Any
    new: Any


@dataclass(frozen=True)
class PlanStep:
    kind: str
    action: str  # create | update | delete
    name: str
    spec: dict[str, Any] | None
    diffs: tuple[FieldDiff, ...] = ()
    breaking: tuple[str, ...] = ()  # what this change breaks for builds, models or capabilities
    additive: tuple[str, ...] = ()  # features added: nothing built is invalidated

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "action": self.action,
            "name": self.name,
            "changes": [{"path": d.path, "old": d.old, "new": d.new} for d in self.diffs],
            "breaking": list(self.breaking),
            "additive": list(self.additive),
        }


@dataclass(frozen=True)
class Plan:
    steps: tuple[PlanStep, ...]

    @property
    def empty(self) -> bool:
        return not self.steps

    def count(self, action: str) -> int:
        return sum(1 for step in self.steps if step.action == action)

    @property
    def breaking(self) -> list[PlanStep]:
        """The steps that break something already built, trained or served."""
        return [step for step in self.steps if step.breaking]


def build_plan(project: Project, store: MetadataStore) -> Plan:
    """Compare every declared object with its registered spec."""
    steps: list[PlanStep] = []
    for kind in KIND_ORDER:
        registered = store.registered(kind)
        declared = {name: spec_payload(spec) for name, spec in project.objects(kind).items()}
        if kind == "datasets":  # an identity declares the datasets its runs produce
            for identity in project.identities.values():
                declared.update(output_datasets(identity))
        for name in sorted(declared):
            new = declared[name]
            old = _as_today(kind, registered.get(name))
            if old is None:
                steps.append(PlanStep(kind, "create", name, new))
            elif old != new:
                breaking, additive = feature_changes(kind, old, new)
                diffs = tuple(_diff(old, new))
                steps.append(PlanStep(kind, "update", name, new, diffs, tuple(breaking), tuple(additive)))
        for name in sorted(set(registered) - set(declared)):
            breaking, _ = feature_changes(kind, registered[name], None)
            steps.append(PlanStep(kind, "delete", name, None, breaking=tuple(breaking)))
    return Plan(tuple(steps))


def _as_today(kind: str, payload: dict[str, Any] | None) -> dict[str, Any] | None:
    """A stored spec re-read through today's models: settings added since it was applied take their
    defaults, so an upgrade alone never shows up as a change. A payload that no longer validates is compared
    as stored (the plan then shows it being replaced); so is a dataset an identity produces."""
    if payload is None or "identity" in payload:
        return payload
    try:
        return spec_payload(TypeAdapter(SPEC_MODELS[kind]).validate_python(payload))
    except ValidationError:
        return payload


def apply_plan(plan: Plan, store: MetadataStore, actor: str = "cli") -> None:
    """Execute the plan's steps in one transaction."""
    store.apply([Change(s.kind, s.action, s.name, s.spec) for s in plan.steps], actor)


def _diff(old: Any, new: Any, path: str = "") -> list[FieldDiff]:
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[FieldDiff] = []
        for key in sorted(set(old) | set(new), key=str):
            sub = f"{path}.{key}" if path else str(key)
            if key not in old:
                out.append(FieldDiff(sub, None, new[key]))
            elif key not in new:
                out.append(FieldDiff(sub, old[key], None))
            elif old[key] != new[key]:
                out.extend(_diff(old[key], new[key], sub))
        return out
    return [FieldDiff(path, old, new)]
