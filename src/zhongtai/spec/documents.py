"""Spec documents from any channel (the console, the API, a script): one YAML or JSON document of specs
planned against the registry and applied in one transaction with its audit record, the same steps
`zhongtai plan` shows; and one registered object written back as YAML, so the git repository of specs can
take what was composed elsewhere and stay the truth.

A document speaks for the objects it names: each is created or replaced, nothing it does not name is
touched (removing one is a project `apply`, with its confirmation). It holds the kinds in DOCUMENT_KINDS,
checked against what is registered (a capability's model must be); policies go through govern/grants.py,
which refuses a lockout, and sources (credentials, local paths) only through a project folder.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import ValidationError

from zhongtai.errors import ErrorCode, NotFound, ZhongtaiError
from zhongtai.govern.audit import LOCAL_ADMIN
from zhongtai.spec.models import SCORE_BAND_TASKS, ModelSpec, ProjectFile
from zhongtai.spec.project import Project, answer_problem, format_error
from zhongtai.spec.yaml_lines import line_of, load_with_lines

if TYPE_CHECKING:
    from zhongtai.meta.store import MetadataStore
    from zhongtai.spec.models import CapabilitySpec
    from zhongtai.spec.plan import Plan

DOCUMENT_KINDS = ("capabilities",)
MAX_DOCUMENT_CHARS = 1_000_000  # a page of specs, not a data file
_FIX = "fix the lines above; nothing was changed"


def read_document(
    text: str, source: str
) -> tuple[dict[str, dict[str, CapabilitySpec]], dict[tuple[str | int, ...], int]]:
    """The objects a document declares, by kind and name, validated, with the line of every key; every
    error names `source:line kind.name.field`."""
    if len(text) > MAX_DOCUMENT_CHARS:
        raise ZhongtaiError(
            ErrorCode.INVALID_SPEC,
            f"{source}: a spec document holds at most {MAX_DOCUMENT_CHARS:,} characters",
            "split it over several documents",
        )
    data, lines = load_with_lines(text, source)
    if not isinstance(data, dict) or not data:
        raise ZhongtaiError(
            ErrorCode.INVALID_SPEC,
            f"{source}:1: expected a mapping with the key {' or '.join(DOCUMENT_KINDS)}",
            "write `capabilities:` and a list of capabilities (docs/specs-reference.md)",
        )
    other = [kind for kind in data if kind not in DOCUMENT_KINDS]
    if other:
        raise ZhongtaiError(
            ErrorCode.INVALID_SPEC,
            f"{source}:{lines.get((other[0],), 1)} {other[0]}: a spec document applied over the API holds "
            f"{', '.join(DOCUMENT_KINDS)} only",
            "apply policies with /v1/policies/apply; other kinds from a project folder (`zhongtai apply`)",
        )
    try:
        parsed = ProjectFile.model_validate(data)
    except ValidationError as exc:
        problems = [format_error(source, data, lines, error) for error in exc.errors()]
        raise ZhongtaiError(ErrorCode.INVALID_SPEC, "\n".join(problems), _FIX) from None
    declared: dict[str, dict[str, CapabilitySpec]] = {kind: {} for kind in DOCUMENT_KINDS}
    for kind in DOCUMENT_KINDS:
        for index, spec in enumerate(getattr(parsed, kind)):
            if spec.name in declared[kind]:
                line = lines.get((kind, index), 1)
                raise ZhongtaiError(
                    ErrorCode.INVALID_SPEC, f"{source}:{line} {kind}.{spec.name}: declared twice", _FIX
                )
            declared[kind][spec.name] = spec
    return declared, lines


def check_references(
    store: MetadataStore,
    declared: dict[str, dict[str, CapabilitySpec]],
    lines: dict[tuple[str | int, ...], int],
    source: str,
) -> None:
    """Each capability names a registered model and answers the way that model's task can (score bands
    for a binary model, value bands for a regression one); `invalid_spec` names every line at fault."""
    models = store.registered("models")
    problems = []
    for index, (name, capability) in enumerate(declared["capabilities"].items()):
        line = line_of(lines, ("capabilities", index, "model")) or 1
        payload = models.get(capability.model)
        if payload is None:
            known = ", ".join(sorted(models)) or "none registered"
            problems.append(
                f"{source}:{line} capabilities.{name}.model: unknown model '{capability.model}' "
                f"(registered: {known})"
            )
            continue
        task = ModelSpec.model_validate(payload).task
        problem = answer_problem(capability, task)
        if problem is None and task in SCORE_BAND_TASKS and not capability.decisions:
            problem = f"decisions: model '{capability.model}' is {task}: give at least one score band"
        if problem is not None:
            field = problem.partition(":")[0]
            line = line_of(lines, ("capabilities", index, field)) or line
            problems.append(f"{source}:{line} capabilities.{name}.{problem}")
    if problems:
        raise ZhongtaiError(ErrorCode.INVALID_SPEC, "\n".join(problems), _FIX)


def plan_document(store: MetadataStore, text: str, source: str) -> Plan:
    """What applying the document would create or change (its own objects only); nothing is written."""
    from zhongtai.spec.plan import Plan, build_plan

    declared, lines = read_document(text, source)
    check_references(store, declared, lines, source)
    # The project planner diffs every kind; a document speaks for its own objects only.
    project = Project(root=Path(source), **declared)  # type: ignore[arg-type]
    steps = build_plan(project, store).steps
    return Plan(tuple(s for s in steps if s.name in declared.get(s.kind, {})))


def apply_document(
    store: MetadataStore,
    text: str,
    source: str,
    principal: str,
    rule: str = LOCAL_ADMIN,
    authorize: Callable[[str, str], None] | None = None,
) -> Plan:
    """Plan the document and apply that plan in one transaction, audited as done by `principal` under
    `rule`; `authorize(name, kind)` may refuse any object before anything is written. The plan applied is
    returned (empty when the registry already matches)."""
    from zhongtai.spec.plan import apply_plan

    plan = plan_document(store, text, source)
    if authorize is not None:
        for step in plan.steps:
            authorize(step.name, step.kind)
    if not plan.empty:
        apply_plan(plan, store, principal, rule=rule)
    return plan


def export_spec(store: MetadataStore, kind: str, name: str) -> tuple[dict[str, Any], str]:
    """A registered object's spec and the YAML document that declares it, as a project file would (what
    `plan` of that file then shows as no change)."""
    if kind not in DOCUMENT_KINDS:
        raise NotFound("spec kind", kind, f"kinds: {', '.join(DOCUMENT_KINDS)}")
    payload = store.spec(kind, name)
    text = yaml.safe_dump({kind: [payload]}, sort_keys=False, allow_unicode=True)
    return payload, text
