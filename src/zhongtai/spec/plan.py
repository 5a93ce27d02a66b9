"""Plan: the difference between a project folder and the registry; apply: make them equal in one transaction.

The printed plan is the plan: `apply` executes exactly the frozen steps `build_plan` returned. Removing an
object is a decision, never a side effect of a folder that lost a file: `apply_plan` refuses a plan that
deletes anything unless the caller says deletions are allowed (the CLI asks, or takes `--allow-delete`).
A deleted dataset is retired, not erased (meta/retirement.py), and the plan says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter, ValidationError

from zhongtai.errors import ZhongtaiError
from zhongtai.govern.audit import LOCAL_ADMIN
from zhongtai.meta.records import Change
from zhongtai.meta.retirement import RetiredDataset
from zhongtai.meta.store import KIND_NOUN, KIND_ORDER, MetadataStore
from zhongtai.spec.evolution import feature_changes
from zhongtai.spec.identity import output_datasets
from zhongtai.spec.models import SPEC_MODELS, published_dataset, spec_payload
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
    notes: tuple[str, ...] = ()  # what happens to the history the object owns (retired, restored)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "action": self.action,
            "name": self.name,
            "changes": [{"path": d.path, "old": d.old, "new": d.new} for d in self.diffs],
            "breaking": list(self.breaking),
            "additive": list(self.additive),
            "notes": list(self.notes),
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
    def deletions(self) -> list[PlanStep]:
        """The steps that remove an object from the registry."""
        return [step for step in self.steps if step.action == "delete"]

    @property
    def breaking(self) -> list[PlanStep]:
        """The steps that break something already built, trained or served."""
        return [step for step in self.steps if step.breaking]


def build_plan(project: Project, store: MetadataStore) -> Plan:
    """Compare every declared object with its registered spec."""
    steps: list[PlanStep] = []
    retired = {r.name: r for r in store.retired.list()}
    for kind in KIND_ORDER:
        registered = store.registered(kind)
        declared = {name: spec_payload(spec) for name, spec in project.objects(kind).items()}
        if kind == "datasets":  # an identity declares the datasets its runs produce
            for identity in project.identities.values():
                declared.update(output_datasets(identity))
            for model in project.models.values():  # and a model the dataset it publishes to
                declared.update(published_dataset(model))
        for name in sorted(declared):
            new = declared[name]
            old = _as_today(kind, registered.get(name))
            if old is None:
                notes = (_restored(retired[name]),) if kind == "datasets" and name in retired else ()
                steps.append(PlanStep(kind, "create", name, new, notes=notes))
            elif old != new:
                breaking, additive = feature_changes(kind, old, new)
                diffs = tuple(_diff(old, new))
                steps.append(PlanStep(kind, "update", name, new, diffs, tuple(breaking), tuple(additive)))
        for name in sorted(set(registered) - set(declared)):
            breaking, _ = feature_changes(kind, registered[name], None)
            notes = (_retiring(store, name),) if kind == "datasets" else ()
            steps.append(PlanStep(kind, "delete", name, None, breaking=tuple(breaking), notes=notes))
    return Plan(tuple(steps))


def _restored(dataset: RetiredDataset) -> str:
    if not dataset.versions:
        return "restores the retired dataset (it has no versions)"
    return f"restores the retired dataset with its {_versions(dataset.versions)} (current: {dataset.current_version})"


def _versions(count: int) -> str:
    return f"{count} version{'s' if count != 1 else ''}"


def _retiring(store: MetadataStore, name: str) -> str:
    count = len(store.versions(name))
    if not count:
        return "retired (it has no versions yet); declaring it again restores it"
    return (
        f"retired, not erased: its {_versions(count)} and their lake files are kept until "
        f"`zhongtai datasets purge {name}`; declaring it again restores them"
    )


def _as_today(kind: str, payload: dict[str, Any] | None) -> dict[str, Any] | None:
    """A stored spec re-read through today's models: settings added since it was applied take their
    defaults, so an upgrade alone never shows up as a change. A payload that no longer validates is compared
    as stored (the plan then shows it being replaced); so is a dataset an identity or a model produces."""
    if payload is None or "identity" in payload or "model" in payload:
        return payload
    try:
        return spec_payload(TypeAdapter(SPEC_MODELS[kind]).validate_python(payload))
    except ValidationError:
        return payload


def apply_plan(
    plan: Plan,
    store: MetadataStore,
    actor: str = "cli",
    *,
    allow_delete: bool = False,
    rule: str = LOCAL_ADMIN,
) -> None:
    """Execute the plan's steps in one transaction, with one audit record naming `actor` and the policy
    `rule` that let them apply it.

    A plan that removes objects is refused, with nothing changed, unless `allow_delete` says the caller
    confirmed the removals (a person at the prompt, or `--allow-delete` / `--yes`).
    """
    if plan.deletions and not allow_delete:
        raise deletions_refused(plan)
    store.apply([Change(s.kind, s.action, s.name, s.spec) for s in plan.steps], actor, rule)


def deletions_refused(plan: Plan) -> ZhongtaiError:
    """The error for a plan whose removals nobody confirmed: it names every object it would remove."""
    named = [f"{KIND_NOUN[step.kind]} {step.name}" for step in plan.deletions]
    shown = ", ".join(named[:_NAMED]) + (f" and {len(named) - _NAMED} more" if len(named) > _NAMED else "")
    return ZhongtaiError(
        "conflict",
        f"the plan removes {len(named)} object{'s' if len(named) > 1 else ''} ({shown}) and no one confirmed "
        "it; nothing was changed",
        "check that the folder is the whole project (zhongtai plan FOLDER shows the plan), then confirm on a "
        "terminal or pass --allow-delete (or --yes)",
    )


_NAMED = 20  # objects named in the refusal; a whole registry would drown the message


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
